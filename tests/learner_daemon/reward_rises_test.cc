// GRPO learns: on the digits task (reward 1 when the completion contains a digit) an untrained
// tiny model starts near 10% and the job's reward mean climbs well above it within a few dozen
// steps on a real cluster.
#include <vector>

#include "gtest/gtest.h"
#include "tests/learner_daemon/learner_cluster.h"

namespace flywheel::testing {
namespace {

double MeanReward(const std::vector<v1::StepMetrics>& m, size_t begin, size_t end) {
  double sum = 0;
  for (size_t i = begin; i < end; ++i) sum += m[i].reward_mean();
  return sum / static_cast<double>(end - begin);
}

TEST(RewardRisesTest, GrpoRaisesTheRewardMean) {
  LearnerCluster cluster;
  v1::JobSpec spec = cluster.GrpoSpec();
  spec.set_steps(30);
  spec.set_prompts_per_step(8);
  spec.mutable_grpo()->set_group_size(8);
  spec.mutable_optimizer()->set_lr(3e-3);
  spec.set_eval_dataset("");
  auto job = cluster.Submit(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  auto metrics = cluster.WatchToEnd(job->id());
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  ASSERT_EQ(metrics->size(), 30u);
  const double first = MeanReward(*metrics, 0, 5), last = MeanReward(*metrics, 25, 30);
  // 5-step means over 320 completions each: a rise of 0.2 is far outside sampling noise
  // (the binomial standard error of a 5-step mean is below 0.03).
  EXPECT_GT(last, first + 0.2) << "first 5 steps " << first << ", last 5 steps " << last;
}

}  // namespace
}  // namespace flywheel::testing
