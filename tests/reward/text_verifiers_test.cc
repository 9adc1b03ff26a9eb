// The exact, regex and choice verifiers, the format term, overlong shaping and the weighted
// combination of terms, mostly through task specs as a dataset row would give them.
#include <string>

#include "gtest/gtest.h"
#include "reward/score.h"

namespace flywheel::reward {
namespace {

using nlohmann::json;

RewardResult MustScore(const json& spec_json, std::string_view completion, int64_t tokens = -1) {
  auto spec = ParseTaskSpec(spec_json);
  EXPECT_TRUE(spec.ok()) << spec.status();
  if (!spec.ok()) return {};
  auto r = ScoreItem(*spec, {"prompt", completion, tokens});
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : RewardResult{};
}

bool Correct(const json& spec, std::string_view completion) {
  return MustScore(spec, completion).correct;
}

TEST(Exact, NormalisationOptions) {
  json spec = {{"verifier", "exact"}, {"gold", "Paris"}};
  EXPECT_TRUE(Correct(spec, "Paris"));
  EXPECT_TRUE(Correct(spec, "  paris. "));
  EXPECT_TRUE(Correct(spec, "Answer: **Paris**"));
  EXPECT_TRUE(Correct(spec, R"x(\boxed{\text{Paris}})x"));
  EXPECT_FALSE(Correct(spec, "London"));
  EXPECT_FALSE(Correct(spec, "Paris, France"));
  EXPECT_FALSE(Correct(spec, R"x(\boxed{Paris} \boxed{London})x"));
  EXPECT_TRUE(Correct(spec, "<think>London? no.</think>Paris"));

  json cased = {{"verifier", "exact"}, {"gold", "Paris"}, {"text", {{"case_sensitive", true}}}};
  EXPECT_FALSE(Correct(cased, "paris"));
  EXPECT_TRUE(Correct(cased, "Paris"));

  json articles = {
      {"verifier", "exact"}, {"gold", "the Eiffel Tower"}, {"text", {{"strip_articles", true}}}};
  EXPECT_TRUE(Correct(articles, "Eiffel   tower"));
  json no_articles = {{"verifier", "exact"}, {"gold", "the Eiffel Tower"}};
  EXPECT_FALSE(Correct(no_articles, "Eiffel tower"));

  json several = {{"verifier", "exact"}, {"gold", {"NYC", "New York City"}}};
  EXPECT_TRUE(Correct(several, "new york city"));
  EXPECT_TRUE(Correct(several, "nyc"));
  EXPECT_FALSE(Correct(several, "New York"));
}

TEST(Regex, FullMatchAndSearch) {
  json spec = {{"verifier", "regex"}, {"regex", {{"pattern", "[0-9]{3}-[0-9]{4}"}}}};
  EXPECT_TRUE(Correct(spec, "Answer: 555-1234"));
  EXPECT_FALSE(Correct(spec, "Answer: call 555-1234"));
  json search = {{"verifier", "regex"},
                 {"regex", {{"pattern", "[0-9]{3}-[0-9]{4}"}, {"full_match", false}}}};
  EXPECT_TRUE(Correct(search, "you can call 555-1234 today"));
  json gold_pattern = {{"verifier", "regex"}, {"gold", "(?i)yes|y"}};
  EXPECT_TRUE(Correct(gold_pattern, "YES"));
  EXPECT_FALSE(Correct(gold_pattern, "no"));
  json caseless = {{"verifier", "regex"},
                   {"regex", {{"pattern", "hello"}, {"case_sensitive", false}}}};
  EXPECT_TRUE(Correct(caseless, "HeLLo"));
}

TEST(Choice, Letters) {
  json spec = {{"verifier", "choice"}, {"gold", "B"}, {"choice", {{"letters", "ABCD"}}}};
  for (const char* yes : {"B", "(B)", "b", "Answer: B", "The answer is (B).", "B) 42",
                          R"x(\boxed{B})x", R"x(\boxed{\text{(B)}})x", "**Answer: B**",
                          "Let me think.\nB", "Option B", "<think>A? no</think>B"}) {
    EXPECT_TRUE(Correct(spec, yes)) << yes;
  }
  for (const char* no : {"A", "(C)", "Answer: A or B", "The answer is B or C.", "E",
                         R"x(\boxed{A} \boxed{B})x", "I think", "Answer: A, B", ""}) {
    EXPECT_FALSE(Correct(spec, no)) << no;
  }
  EXPECT_EQ(ParseChoiceLetter("A or B", "ABCD"), '?');
  EXPECT_EQ(ParseChoiceLetter("B. Paris", "ABCD"), 'B');
  EXPECT_EQ(ParseChoiceLetter("Paris", "ABCD"), 0);
}

TEST(Format, ThinkThenAnswer) {
  FormatOptions o;
  EXPECT_TRUE(CheckFormat("<think>reasoning</think>\nThe answer is 4.", o).ok);
  EXPECT_FALSE(CheckFormat("The answer is 4.", o).ok);
  EXPECT_FALSE(CheckFormat("<think>reasoning</think>", o).ok);
  EXPECT_FALSE(CheckFormat("<think></think> 4", o).ok);
  EXPECT_FALSE(CheckFormat("<think>a</think><think>b</think> 4", o).ok);
  EXPECT_FALSE(CheckFormat("<think>never closed 4", o).ok);
  o.answer = FormatOptions::Answer::kBoxed;
  EXPECT_TRUE(CheckFormat("<think>r</think> so \\boxed{4}", o).ok);
  EXPECT_FALSE(CheckFormat("<think>r</think> so 4", o).ok);
  EXPECT_FALSE(CheckFormat("<think>r</think> so \\boxed{}", o).ok);
  o.answer = FormatOptions::Answer::kTag;
  EXPECT_TRUE(CheckFormat("<think>r</think>\n<answer>4</answer>\n", o).ok);
  EXPECT_FALSE(CheckFormat("<think>r</think><answer>4</answer> extra", o).ok);
  EXPECT_FALSE(CheckFormat("<think>r</think><answer> </answer>", o).ok);
  o.answer = FormatOptions::Answer::kAny;
  o.think_open_in_prompt = true;
  EXPECT_TRUE(CheckFormat("reasoning</think> 4", o).ok);
  EXPECT_FALSE(CheckFormat("<think>reasoning</think> 4", o).ok);
  o.require_think = false;
  o.think_open_in_prompt = false;
  EXPECT_TRUE(CheckFormat("4", o).ok);
  EXPECT_FALSE(CheckFormat("   ", o).ok);
}

TEST(Overlong, DapoShape) {
  OverlongOptions o{.max_len = 100, .cache_len = 20};
  // 0 up to L_max - L_cache = 80, then linear to -1 at 100, -1 beyond.
  EXPECT_EQ(*OverlongPenalty(0, o), 0.0);
  EXPECT_EQ(*OverlongPenalty(80, o), 0.0);
  EXPECT_DOUBLE_EQ(*OverlongPenalty(81, o), -0.05);
  EXPECT_DOUBLE_EQ(*OverlongPenalty(90, o), -0.5);
  EXPECT_DOUBLE_EQ(*OverlongPenalty(100, o), -1.0);
  EXPECT_DOUBLE_EQ(*OverlongPenalty(5000, o), -1.0);
  o.penalty_factor = 0.5;
  EXPECT_DOUBLE_EQ(*OverlongPenalty(90, o), -0.25);
  EXPECT_FALSE(OverlongPenalty(-1, o).ok());
  EXPECT_FALSE(OverlongPenalty(10, OverlongOptions{.max_len = 10, .cache_len = 20}).ok());
}

TEST(Combiner, WeightedTermsWithBreakdown) {
  json spec = {{"verifier", "math"},
               {"gold", "4"},
               {"format", {{"think", true}, {"answer", "boxed"}}},
               {"overlong", {{"max_len", 100}, {"cache_len", 20}}},
               {"weights", {{"correct", 1.0}, {"format", 0.2}, {"overlong", 0.5}}}};
  RewardResult r = MustScore(spec, "<think>2+2</think> \\boxed{4}", 90);
  ASSERT_EQ(r.terms.size(), 3u);
  EXPECT_EQ(r.terms[0].name, "correct");
  EXPECT_EQ(r.terms[0].value, 1.0);
  EXPECT_EQ(r.terms[1].name, "format");
  EXPECT_EQ(r.terms[1].value, 1.0);
  EXPECT_EQ(r.terms[2].name, "overlong");
  EXPECT_DOUBLE_EQ(r.terms[2].value, -0.5);
  // 1 * 1 + 0.2 * 1 + 0.5 * -0.5
  EXPECT_DOUBLE_EQ(r.total, 0.95);

  r = MustScore(spec, "\\boxed{5}", 10);
  EXPECT_FALSE(r.correct);
  EXPECT_EQ(r.terms[1].value, 0.0);
  EXPECT_FALSE(r.format_reason.empty());
  EXPECT_DOUBLE_EQ(r.total, 0.0);

  json dapo = {{"verifier", "math"}, {"gold", "4"}, {"incorrect_reward", -1.0}};
  EXPECT_EQ(MustScore(dapo, "\\boxed{5}").total, -1.0);
  EXPECT_EQ(MustScore(dapo, "\\boxed{4}").total, 1.0);

  json chars = {{"verifier", "exact"},
                {"gold", "ok"},
                {"overlong", {{"max_len", 10}, {"cache_len", 5}, {"unit", "chars"}}}};
  // 8 code points (the e-acute is two bytes, one character): 3 past L_exp = 5 -> -0.6.
  EXPECT_DOUBLE_EQ(MustScore(chars, "ok \u00e9\u00e9\u00e9\u00e9\u00e9").terms[1].value, -0.6);

  EXPECT_FALSE(CombineTerms({{"a", 1, 1}, {"a", 1, 1}}).ok());
  EXPECT_FALSE(CombineTerms({{"a", NAN, 1}}).ok());
  EXPECT_EQ(CombineTerms({})->total, 0.0);
}

}  // namespace
}  // namespace flywheel::reward
