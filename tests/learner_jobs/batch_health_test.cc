// The batch health numbers against hand-counted batches: length mean and nearest-rank p95,
// truncation, format failures (a failed format rule, or no answer read), and rubric rule/judge
// disagreement over items that have both kinds of criteria only; and the rollout_servers entry
// forms.
#include "learner/jobs/batch_health.h"

#include "gtest/gtest.h"
#include "learner/servers/server_entries.h"

namespace flywheel::learner {
namespace {

TrainSample Sample(int length, bool truncated) {
  TrainSample s;
  s.completion.assign(length, 1);
  s.truncated = truncated;
  return s;
}

TEST(BatchHealthTest, LengthsAndTruncation) {
  // 20 completions of lengths 1..20; the last two truncated.
  std::vector<TrainGroup> groups(4);
  for (int i = 1; i <= 20; ++i) groups[(i - 1) / 5].push_back(Sample(i, i > 18));
  BatchHealth h;
  MeasureLengths(groups, &h);
  EXPECT_DOUBLE_EQ(h.length_mean, 10.5);
  EXPECT_DOUBLE_EQ(h.length_p95, 19.0);  // ceil(0.95 * 20) = 19th smallest
  EXPECT_DOUBLE_EQ(h.truncation_rate, 0.1);
}

v1::RewardResult Rubric(double rule, double judged) {
  v1::RewardResult r;
  auto* a = r.add_criteria();
  a->set_score(rule);
  a->set_judged(false);
  auto* b = r.add_criteria();
  b->set_score(judged);
  b->set_judged(true);
  r.set_correct(true);
  return r;
}

TEST(BatchHealthTest, FormatFailuresAndRubricDisagreement) {
  std::vector<v1::RewardResult> results(6);
  results[0].set_answer("42");  // read, wrong: not a format failure
  results[1].set_answer("");    // nothing read: a format failure
  auto* format = results[2].add_terms();
  format->set_name("format");
  format->set_value(0.0);  // the format rule failed
  results[2].set_answer("7");
  results[3].set_error("too long");  // not scored: not counted
  results[4] = Rubric(1.0, 0.9);     // agree
  results[5] = Rubric(1.0, 0.1);     // disagree
  BatchHealth h;
  MeasureRewards(results, &h);
  EXPECT_DOUBLE_EQ(h.format_failure_rate, 2.0 / 5.0);
  ASSERT_TRUE(h.rubric_disagreement.has_value());
  EXPECT_DOUBLE_EQ(*h.rubric_disagreement, 0.5);
  BatchHealth none;
  MeasureRewards({results[0], results[1]}, &none);
  EXPECT_FALSE(none.rubric_disagreement.has_value());
}

TEST(ServerEntriesTest, ParsesTheThreeForms) {
  auto e = ParseServerEntries({"10.0.0.1:50051", "dns:rollout.ns.svc:50051", "registered",
                               "[::1]:7"});
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->fixed, (std::vector<std::string>{"10.0.0.1:50051", "[::1]:7"}));
  ASSERT_EQ(e->dns.size(), 1u);
  EXPECT_EQ(e->dns[0].host, "rollout.ns.svc");
  EXPECT_EQ(e->dns[0].port, 50051);
  EXPECT_TRUE(e->registered);
  EXPECT_TRUE(e->elastic());
  EXPECT_FALSE(ParseServerEntries({"dns:x"}).ok());
  EXPECT_FALSE(ParseServerEntries({"host:0"}).ok());
  EXPECT_FALSE(ParseServerEntries({"noport"}).ok());
  auto local = Resolve({"localhost", 9});
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_FALSE(local->empty());
  EXPECT_FALSE(Resolve({"no-such-host.invalid", 9}).ok());
}

}  // namespace
}  // namespace flywheel::learner
