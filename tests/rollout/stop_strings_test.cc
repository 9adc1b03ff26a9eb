#include "rollout_server/stop_strings.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace flywheel::rollout {
namespace {

// Feeds tokens one by one; returns the index of the token that completed a stop string, or -1.
int FirstStop(const std::vector<std::string>& stops, const std::vector<std::string>& tokens,
              bool strip_leading_space = false) {
  StopStringScanner scanner(&stops, strip_leading_space);
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (scanner.Append(tokens[i])) return static_cast<int>(i);
  }
  return -1;
}

TEST(StopStringScannerTest, FindsAMatchSpanningTokensAtTheTokenThatCompletesIt) {
  EXPECT_EQ(FirstStop({"END"}, {"the ", "E", "N", "D", " more"}), 3);
  EXPECT_EQ(FirstStop({"END"}, {"the ", "EN", "d"}), -1);
  EXPECT_EQ(FirstStop({"xyz", "ab"}, {"a", "b", "xyz"}), 1);
  // A match far from the start: the scanner looks back only as far as the longest stop string.
  EXPECT_EQ(FirstStop({"</answer>"}, {std::string(1000, 'a'), "</ans", "wer>"}), 2);
}

// "é" is the two bytes C3 A9: split across tokens, it matches only once both have arrived. The
// text searched is what Tokenizer::Decode gives for the tokens so far (as the engine once decoded
// the whole completion every token), so a trailing lead byte reads as U+FFFD until it completes.
TEST(StopStringScannerTest, MultiByteCharactersSplitAcrossTokens) {
  EXPECT_EQ(FirstStop({"caf\xC3\xA9"}, {"ca", "f\xC3", "\xA9", "!"}), 2);
  EXPECT_EQ(FirstStop({"f\xEF\xBF\xBD"}, {"ca", "f\xC3", "\xA9"}), 1);
  EXPECT_EQ(FirstStop({"\xEF\xBF\xBD"
                       "b"},
                      {"a\xC3", "b"}),
            1);  // Invalid for good once "b" follows.
  EXPECT_EQ(FirstStop({"\xC3\xA9\xC3\xA9"}, {"\xC3", "\xA9\xC3", "\xA9"}), 2);
}

TEST(StopStringScannerTest, TheLeadingSpaceIsDroppedWhenTheTokenizerStripsIt) {
  EXPECT_EQ(FirstStop({"^hi"}, {" hi"}), -1);
  EXPECT_EQ(FirstStop({" hi"}, {" hi"}, /*strip_leading_space=*/false), 0);
  EXPECT_EQ(FirstStop({" hi"}, {" hi"}, /*strip_leading_space=*/true), -1);
  EXPECT_EQ(FirstStop({"hi there"}, {" hi", " there"}, /*strip_leading_space=*/true), 1);
}

}  // namespace
}  // namespace flywheel::rollout
