// Acceptance 4 of issue 5: bad input gives a per-item error with a clear message, never a crash
// or a hang — unknown verifier, missing gold, invalid regex, invalid UTF-8, a 10 MB completion,
// a deeply nested brace bomb, a catastrophically backtracking regex.
#include <chrono>
#include <string>

#include "gtest/gtest.h"
#include "reward/score.h"

namespace flywheel::reward {
namespace {

using nlohmann::json;

void ExpectError(const absl::Status& s, std::string_view fragment) {
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find(std::string(fragment)), absl::string_view::npos)
      << "message: " << s.message() << "\nexpected to contain: " << fragment;
}

TEST(BadSpec, ClearMessages) {
  ExpectError(ParseTaskSpec({{"verifier", "telepathy"}, {"gold", "4"}}).status(),
              "unknown verifier");
  ExpectError(ParseTaskSpec({{"gold", "4"}}).status(), "\"verifier\" is missing");
  ExpectError(ParseTaskSpec({{"verifier", "math"}}).status(), "\"gold\" is missing");
  ExpectError(ParseTaskSpec({{"verifier", "math"}, {"gold", "   "}}).status(), "gold");
  ExpectError(ParseTaskSpec({{"verifier", "exact"}, {"gold", 4}}).status(), "\"gold\" must be");
  ExpectError(
      ParseTaskSpec({{"verifier", "choice"}, {"gold", "Z"}, {"choice", {{"letters", "ABCD"}}}})
          .status(),
      "must be one of the letters ABCD");
  ExpectError(ParseTaskSpec({{"verifier", "regex"}, {"regex", {{"pattern", "([a-z]+"}}}}).status(),
              "invalid regex");
  ExpectError(ParseTaskSpec({{"verifier", "regex"}}).status(), "regex.pattern");
  ExpectError(ParseTaskSpec({{"verifier", "math"}, {"gold", "4"}, {"golds", "4"}}).status(),
              "\"golds\" is not a known field");
  ExpectError(
      ParseTaskSpec({{"verifier", "math"}, {"gold", "4"}, {"math", {{"rel_tol", 2}}}}).status(),
      "math.rel_tol");
  ExpectError(
      ParseTaskSpec({{"verifier", "exact"}, {"gold", "4"}, {"math", json::object()}}).status(),
      "does not apply");
  ExpectError(
      ParseTaskSpec({{"verifier", "math"}, {"gold", "4"}, {"weights", {{"format", 1}}}}).status(),
      "no \"format\" block");
  ExpectError(
      ParseTaskSpec(
          {{"verifier", "math"}, {"gold", "4"}, {"overlong", {{"max_len", 10}, {"cache_len", 20}}}})
          .status(),
      "cache_len <= max_len");
  ExpectError(ParseTaskSpec({{"verifier", "math"}, {"gold", "\\boxed{1} \\boxed{2}"}}).status(),
              "several different final answers");
  ExpectError(ParseTaskSpecText("{\"verifier\": \"math\", ").status(), "not valid JSON");
  ExpectError(ParseTaskSpecText("{\"verifier\": \"math\", \"gold\": \"\xff\"}").status(), "UTF-8");
  json bad_utf8_gold = {{"verifier", "exact"}, {"gold", std::string("caf\xc3", 4)}};
  ExpectError(ParseTaskSpec(bad_utf8_gold).status(), "not valid UTF-8");
}

TEST(BadCompletion, PerItemErrors) {
  auto spec = ParseTaskSpec({{"verifier", "math"}, {"gold", "4"}});
  ASSERT_TRUE(spec.ok());

  ExpectError(ScoreItem(*spec, {"", "\\boxed{4} \xc3\x28"}).status(),
              "not valid UTF-8: bad continuation byte at offset 11");
  ExpectError(ScoreItem(*spec, {"", "ok \xed\xa0\x80"}).status(), "surrogate");  // CESU surrogate
  ExpectError(ScoreItem(*spec, {"\xc0\xaf", "\\boxed{4}"}).status(), "prompt is not valid");

  auto start = std::chrono::steady_clock::now();
  std::string big(10u << 20, 'a');
  ExpectError(ScoreItem(*spec, {"", big}).status(), "over the limit");

  std::string bomb =
      "\\boxed{" + std::string(1'000'000, '{') + "4" + std::string(1'000'000, '}') + "}";
  ExpectError(ScoreItem(*spec, {"", bomb}).status(), "nests braces deeper than 64");

  // A batch keeps going past a bad item.
  std::vector<ScoreRequest> batch = {{&*spec, {"", big}}, {&*spec, {"", "\\boxed{4}"}}};
  auto results = ScoreBatch(batch);
  EXPECT_FALSE(results[0].ok());
  ASSERT_TRUE(results[1].ok());
  EXPECT_TRUE(results[1]->correct);

  auto tokens = ParseTaskSpec(
      {{"verifier", "math"}, {"gold", "4"}, {"overlong", {{"max_len", 10}, {"cache_len", 5}}}});
  ASSERT_TRUE(tokens.ok());
  ExpectError(ScoreItem(*tokens, {"", "\\boxed{4}"}).status(), "completion_tokens");

  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Rejections are linear scans of a few MB; a second is orders of magnitude of slack.
  EXPECT_LT(seconds, 1.0);
}

TEST(BadCompletion, LongButValidInputsStayFast) {
  auto spec = ParseTaskSpec({{"verifier", "math"}, {"gold", "4"}});
  ASSERT_TRUE(spec.ok());
  auto start = std::chrono::steady_clock::now();
  // Just under the limit, full of markers: every scan must stay linear.
  for (std::string_view unit : {"answer: 7 answer is #### \\boxed{1}\n", "answer:answer is ####",
                                "answer:answer:answer is "}) {
    std::string text;
    while (text.size() < (3u << 20)) text += unit;
    auto r = ScoreItem(*spec, {"", text});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(r->correct);
  }
  std::string texts;
  while (texts.size() < (3u << 20)) texts += "\\text{a}\\boxed{\\text{4}}";
  auto r = ScoreItem(*spec, {"", texts});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->correct);  // thousands of boxes: more than max_answers
  std::string huge_box = "\\boxed{" + std::string(2u << 20, '1') + "}";
  r = ScoreItem(*spec, {"", huge_box});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->correct);
  EXPECT_NE(r->reason.find("over the limit"), std::string::npos) << r->reason;

  auto exact = ParseTaskSpec({{"verifier", "exact"}, {"gold", "4"}});
  ASSERT_TRUE(exact.ok());
  r = ScoreItem(*exact, {"", texts});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->correct);  // every box says 4, but thousands of final answers are not one
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Each pass is linear over ~3 MB; 3 s leaves room for a slow, shared CI machine.
  EXPECT_LT(seconds, 3.0);
}

TEST(BadRegex, CatastrophicBacktrackingIsBounded) {
  auto spec = ParseTaskSpec(
      {{"verifier", "regex"}, {"regex", {{"pattern", "(a+)+$"}, {"full_match", false}}}});
  ASSERT_TRUE(spec.ok()) << spec.status();
  auto start = std::chrono::steady_clock::now();
  auto r = ScoreItem(*spec, {"", std::string(5000, 'a') + "b"});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(r.status().message().find("match limit"), absl::string_view::npos) << r.status();
  // The 1M match limit stops PCRE2 within ~0.1 s; 2 s allows for a loaded machine.
  EXPECT_LT(seconds, 2.0);
}

}  // namespace
}  // namespace flywheel::reward
