// UTF-8 validation, lossy conversion and the byte-level alphabet.
#include "common/tokenizer/utf8.h"

#include <random>
#include <set>
#include <string>

#include "common/tokenizer/byte_level.h"
#include "gtest/gtest.h"

namespace flywheel::tokenizer {
namespace {

TEST(Utf8Test, ValidatesWellFormedText) {
  EXPECT_TRUE(ValidateUtf8("").ok());
  EXPECT_TRUE(ValidateUtf8("plain ascii, long enough to take the 8-byte path").ok());
  EXPECT_TRUE(ValidateUtf8("é 中 😀 \xF4\x8F\xBF\xBF").ok());  // U+10FFFF is the last scalar
}

TEST(Utf8Test, RejectsMalformedText) {
  for (const char* bad : {"\xFF", "\xC3", "a\xC3(", "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80",
                          "\xF4\x90\x80\x80", "\xF8\x88\x80\x80\x80", "\x80", "abcdefgh\xE2\x82"}) {
    absl::Status s = ValidateUtf8(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("invalid UTF-8"), std::string::npos);
  }
}

TEST(Utf8Test, LossyReplacesEachMaximalSubpartOnce) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"abc", "abc"},
      {"a\xFF"
       "b",
       "a\uFFFD"
       "b"},
      {"\xE2\x82", "\uFFFD"},                  // truncated 3-byte sequence: one replacement
      {"\xE2\x82(", "\uFFFD("},                // broken by an ASCII byte
      {"\xED\xA0\x80", "\uFFFD\uFFFD\uFFFD"},  // surrogate: the lead byte is already invalid
      {"\xF0\x9F\x98\x80\xF0\x9F", "\U0001F600\uFFFD"},
  };
  for (const Case& c : cases) {
    std::string out;
    EXPECT_EQ(AppendUtf8Lossy(c.in, /*final=*/true, &out), c.in.size());
    EXPECT_EQ(out, c.out);
  }
}

TEST(Utf8Test, LossyHoldsBackAnIncompleteTailUnlessFinal) {
  std::string out;
  EXPECT_EQ(AppendUtf8Lossy("ab\xF0\x9F\x98", /*final=*/false, &out), 2u);
  EXPECT_EQ(out, "ab");
  out.clear();
  // A tail that can never complete is replaced right away.
  EXPECT_EQ(AppendUtf8Lossy("ab\xC0", /*final=*/false, &out), 3u);
  EXPECT_EQ(out, "ab\uFFFD");
}

TEST(Utf8Test, LossyOutputIsValidForRandomBytes) {
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string bytes(rng() % 40, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xFF);
    std::string out;
    AppendUtf8Lossy(bytes, true, &out);
    ASSERT_TRUE(ValidateUtf8(out).ok());
    if (ValidateUtf8(bytes).ok()) EXPECT_EQ(out, bytes);
  }
}

TEST(Utf8Test, CodePointRoundTrip) {
  for (char32_t cp : {0x24u, 0xA2u, 0x939u, 0x20ACu, 0xD55Cu, 0x10348u, 0x10FFFFu}) {
    std::string s;
    AppendUtf8(cp, &s);
    size_t pos = 0;
    EXPECT_EQ(NextCodePoint(s, &pos), cp);
    EXPECT_EQ(pos, s.size());
  }
}

TEST(ByteLevelTest, AlphabetIsABijectionOverPrintableCodePoints) {
  std::set<char32_t> seen;
  for (int b = 0; b < 256; ++b) {
    char32_t cp = ByteToUnicode(static_cast<unsigned char>(b));
    EXPECT_TRUE(seen.insert(cp).second);
    EXPECT_EQ(UnicodeToByte(cp), b);
  }
  EXPECT_EQ(ByteToUnicode(' '), U'\u0120');   // the familiar "Ġ"
  EXPECT_EQ(ByteToUnicode('\n'), U'\u010A');  // "Ċ"
  EXPECT_EQ(ByteToUnicode('a'), U'a');
  EXPECT_FALSE(UnicodeToByte(U'\u0144').has_value());
}

TEST(ByteLevelTest, MapsBytesBothWays) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  EXPECT_EQ(ByteLevelToBytes(BytesToByteLevel(all)), all);
  EXPECT_EQ(BytesToByteLevel(" hi"), "\xC4\xA0hi");
  EXPECT_FALSE(ByteLevelToBytes("\xE4\xB8\xAD").has_value());  // 中 is not in the alphabet
}

}  // namespace
}  // namespace flywheel::tokenizer
