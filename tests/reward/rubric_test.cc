// Rubric aggregation against hand-computed values (pitfalls, all-negative rubrics), the rule
// checks, the judge prompt, and batched judge calls through an injected fake judge.
#include <cmath>
#include <map>
#include <string>

#include "gtest/gtest.h"
#include "reward/score.h"

namespace flywheel::reward {
namespace {

using nlohmann::json;

Rubric MakeRubric(const json& j) {
  auto r = ParseRubric(j);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : Rubric{};
}

json Judged(double weight, const char* description) {
  return {{"title", description}, {"description", description}, {"weight", weight}};
}

TEST(RubricAggregate, HandComputed) {
  // Weights 5, 3, 1, -2 (a pitfall). Positive sum 9.
  Rubric r = MakeRubric(json::array({Judged(5, "essential"), Judged(3, "important"),
                                     Judged(1, "optional"), Judged(-2, "pitfall")}));
  // All met, pitfall avoided: 9/9.
  EXPECT_DOUBLE_EQ(*AggregateRubric(r, {1, 1, 1, 0}), 1.0);
  // Essential and optional met, pitfall committed: (5 + 1 - 2) / 9.
  EXPECT_DOUBLE_EQ(*AggregateRubric(r, {1, 0, 1, 1}), 4.0 / 9.0);
  // Fractional judge scores: (5*0.8 + 3*0.5 + 1*0 - 2*0.25) / 9 = 5/9.
  EXPECT_DOUBLE_EQ(*AggregateRubric(r, {0.8, 0.5, 0, 0.25}), 5.0 / 9.0);
  // Only the optional criterion and the pitfall: (1 - 2) / 9 < 0, clipped to 0.
  EXPECT_DOUBLE_EQ(*AggregateRubric(r, {0, 0, 1, 1}), 0.0);
  // Nothing met, pitfall avoided.
  EXPECT_DOUBLE_EQ(*AggregateRubric(r, {0, 0, 0, 0}), 0.0);
}

TEST(RubricAggregate, AllNegative) {
  // Pitfalls only, weights -1 and -3: r = 1 + sum(w c) / sum|w| = 1 + (w.c) / 4.
  Rubric r = MakeRubric(json::array({Judged(-1, "rude"), Judged(-3, "unsafe advice")}));
  EXPECT_DOUBLE_EQ(*AggregateRubric(r, {0, 0}), 1.0);
  EXPECT_DOUBLE_EQ(*AggregateRubric(r, {1, 0}), 0.75);
  EXPECT_DOUBLE_EQ(*AggregateRubric(r, {0, 1}), 0.25);
  EXPECT_DOUBLE_EQ(*AggregateRubric(r, {1, 1}), 0.0);
  EXPECT_DOUBLE_EQ(*AggregateRubric(r, {0.5, 0.5}), 0.5);
}

TEST(RubricAggregate, RejectsBadScores) {
  Rubric r = MakeRubric(json::array({Judged(1, "a")}));
  EXPECT_FALSE(AggregateRubric(r, {1.5}).ok());
  EXPECT_FALSE(AggregateRubric(r, {NAN}).ok());
  EXPECT_FALSE(AggregateRubric(r, {1, 1}).ok());
}

TEST(RubricParse, Errors) {
  EXPECT_FALSE(ParseRubric(json::array()).ok());
  EXPECT_FALSE(ParseRubric(json::object()).ok());
  EXPECT_FALSE(ParseRubric(json::array({{{"weight", 0}, {"description", "x"}}})).ok());
  EXPECT_FALSE(ParseRubric(json::array({{{"kind", "telepathy"}, {"description", "x"}}})).ok());
  EXPECT_FALSE(ParseRubric(json::array({{{"kind", "contains"}}})).ok());
  EXPECT_FALSE(ParseRubric(json::array({{{"kind", "max_words"}}})).ok());
  EXPECT_FALSE(ParseRubric(json::array({{{"weight", 1}}})).ok());  // judged without text
  EXPECT_FALSE(ParseRubric(json::array({{{"description", "x"}, {"colour", "red"}}})).ok());
  auto bad_regex = ParseRubric(json::array({{{"kind", "regex"}, {"pattern", "(unclosed"}}}));
  ASSERT_FALSE(bad_regex.ok());
  EXPECT_NE(bad_regex.status().message().find("criterion 0"), std::string::npos);
  EXPECT_NE(bad_regex.status().message().find("missing closing parenthesis"), std::string::npos)
      << bad_regex.status();
  // RaR's dataset items parse as judged criteria.
  auto rar = ParseRubric(json::parse(R"x([{"title": "Identify modality",
      "description": "Essential Criteria: Identifies CT", "weight": 5}])x"));
  ASSERT_TRUE(rar.ok());
  EXPECT_EQ(rar->criteria[0].kind, Criterion::Kind::kJudge);
}

TEST(RubricRules, Checks) {
  Rubric r = MakeRubric(json::parse(R"x([
      {"kind": "contains", "text": "Paris"},
      {"kind": "contains", "text": "Paris", "case_sensitive": true},
      {"kind": "regex", "pattern": "\\b[0-9]{4}\\b"},
      {"kind": "min_words", "limit": 3},
      {"kind": "max_words", "limit": 5},
      {"kind": "max_chars", "limit": 30},
      {"kind": "json_valid"}])x"));
  auto check = [&](size_t j, std::string_view text) { return *CheckRule(r.criteria[j], text); };
  EXPECT_EQ(check(0, "it is PARIS"), 1.0);
  EXPECT_EQ(check(0, "it is Lyon"), 0.0);
  EXPECT_EQ(check(1, "it is PARIS"), 0.0);
  EXPECT_EQ(check(2, "built in 1889."), 1.0);
  EXPECT_EQ(check(2, "built in 18890"), 0.0);
  EXPECT_EQ(check(3, "one two three"), 1.0);
  EXPECT_EQ(check(3, "one two"), 0.0);
  EXPECT_EQ(check(4, "a b c d e"), 1.0);
  EXPECT_EQ(check(4, "a b c d e f"), 0.0);
  EXPECT_EQ(check(5, std::string(30, 'x')), 1.0);
  EXPECT_EQ(check(5, std::string(31, 'x')), 0.0);
  EXPECT_EQ(check(5, "\u00e9\u00e9\u00e9"), 1.0);  // code points, not bytes
  EXPECT_EQ(check(6, R"x({"a": [1, 2]})x"), 1.0);
  EXPECT_EQ(check(6, "```json\n{\"a\": 1}\n```"), 1.0);
  EXPECT_EQ(check(6, "{a: 1}"), 0.0);
  EXPECT_EQ(check(6, std::string(100000, '[') + std::string(100000, ']')), 1.0);
}

TEST(Judge, PromptAndProbability) {
  std::string p = RenderJudgePrompt("What is 2+2?", "4", "The response states 4.");
  EXPECT_NE(p.find("What is 2+2?"), std::string::npos);
  EXPECT_NE(p.find("The response states 4."), std::string::npos);
  EXPECT_EQ(p.substr(p.size() - 7), "Answer:");
  // The prompt is fixed: the same inputs render the same bytes.
  EXPECT_EQ(p, RenderJudgePrompt("What is 2+2?", "4", "The response states 4."));
  EXPECT_DOUBLE_EQ(YesProbability(std::log(0.6), std::log(0.2)), 0.75);
  EXPECT_DOUBLE_EQ(YesProbability(-1000, -1000), 0.5);
  EXPECT_NEAR(YesProbability(-1000, -1), 0.0, 1e-300);
  EXPECT_DOUBLE_EQ(YesProbability(-INFINITY, -INFINITY), 0.5);
  EXPECT_DOUBLE_EQ(YesProbability(-INFINITY, -2.0), 0.0);
}

// Answers from a table keyed by the criterion text found in the prompt; counts calls.
class FakeJudge : public Judge {
 public:
  explicit FakeJudge(std::map<std::string, double> answers) : answers_(std::move(answers)) {}
  absl::StatusOr<std::vector<double>> Score(const std::vector<JudgeQuery>& queries) override {
    ++calls;
    total_queries += queries.size();
    if (fail) return absl::UnavailableError("judge server down");
    std::vector<double> out;
    for (const JudgeQuery& q : queries) {
      EXPECT_EQ(q.yes, " yes");
      double score = 0;
      for (const auto& [needle, value] : answers_) {
        if (q.prompt.find("[Criterion]\n" + needle + "\n") != std::string::npos) score = value;
      }
      out.push_back(score);
    }
    return out;
  }
  int calls = 0;
  size_t total_queries = 0;
  bool fail = false;

 private:
  std::map<std::string, double> answers_;
};

TEST(RubricScore, JudgedAndRuleCriteriaInOneBatch) {
  json spec_json = {
      {"verifier", "rubric"},
      {"rubric",
       {{{"title", "correct"}, {"description", "Says the capital is Paris"}, {"weight", 5}},
        {{"title", "short"}, {"kind", "max_words"}, {"limit", 10}, {"weight", 1}},
        {{"title", "mentions Lyon"}, {"kind", "contains"}, {"text", "Lyon"}, {"weight", -2}},
        {{"title", "rude"}, {"description", "Is rude to the user"}, {"weight", -1}}}}};
  auto spec = ParseTaskSpec(spec_json);
  ASSERT_TRUE(spec.ok()) << spec.status();
  FakeJudge judge({{"Says the capital is Paris", 0.9}, {"Is rude to the user", 0.2}});
  ScoreOptions options;
  options.judge = &judge;
  std::vector<ScoreRequest> batch = {
      {&*spec, {"Capital of France?", "<think>Lyon? no.</think>Paris."}},
      {&*spec, {"Capital of France?", "Paris, not Lyon, obviously, as every child knows well."}},
      {nullptr, {"", ""}},
  };
  auto results = ScoreBatch(batch, options);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(judge.calls, 1);  // both items' judged criteria in one call
  EXPECT_EQ(judge.total_queries, 4u);
  ASSERT_TRUE(results[0].ok()) << results[0].status();
  // Lyon only in the reasoning: (5*0.9 + 1*1 - 2*0 - 1*0.2) / 6 = 5.3 / 6.
  EXPECT_DOUBLE_EQ(results[0]->total, 5.3 / 6.0);
  ASSERT_EQ(results[0]->criteria.size(), 4u);
  EXPECT_TRUE(results[0]->criteria[0].judged);
  EXPECT_FALSE(results[0]->criteria[1].judged);
  EXPECT_DOUBLE_EQ(results[0]->criteria[0].score, 0.9);
  ASSERT_TRUE(results[1].ok());
  // 9 words, Lyon present: (4.5 + 1 - 2 - 0.2) / 6 = 3.3 / 6.
  EXPECT_DOUBLE_EQ(results[1]->total, 3.3 / 6.0);
  EXPECT_FALSE(results[2].ok());

  judge.fail = true;
  auto failed = ScoreBatch(batch, options);
  EXPECT_EQ(failed[0].status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(failed[1].status().code(), absl::StatusCode::kUnavailable);

  auto no_judge = ScoreItem(*spec, {"q", "Paris"});
  EXPECT_EQ(no_judge.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(RubricScore, RuleOnlyNeedsNoJudge) {
  auto spec = ParseTaskSpec({{"verifier", "rubric"},
                             {"rubric",
                              {{{"kind", "json_valid"}, {"weight", 2}},
                               {{"kind", "contains"}, {"text", "TODO"}, {"weight", -1}}}}});
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_DOUBLE_EQ(ScoreItem(*spec, {"", "{\"a\": 1}"})->total, 1.0);
  EXPECT_DOUBLE_EQ(ScoreItem(*spec, {"", "{\"a\": \"TODO\"}"})->total, 0.5);
  EXPECT_DOUBLE_EQ(ScoreItem(*spec, {"", "TODO"})->total, 0.0);
}

}  // namespace
}  // namespace flywheel::reward
