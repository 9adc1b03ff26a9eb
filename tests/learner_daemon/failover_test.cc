// Kill one of two rollout servers in the middle of a job: the job finishes on the other, every
// step trains on exactly prompts_per_step groups (none lost, none counted twice), and the data
// cursor ends at steps x prompts_per_step.
#include "gtest/gtest.h"
#include "tests/learner_daemon/learner_cluster.h"

namespace flywheel::testing {
namespace {

TEST(FailoverTest, JobFinishesWhenOneOfTwoRolloutServersDies) {
  LearnerCluster cluster(/*rollout_servers=*/2);
  v1::JobSpec spec = cluster.GrpoSpec();
  spec.set_steps(10);
  spec.set_max_async_steps(1);
  auto job = cluster.Submit(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  ASSERT_TRUE(cluster.WaitForStep(job->id(), 2).ok());
  cluster.KillRollout(1);
  auto metrics = cluster.WatchToEnd(job->id());
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  auto done = cluster.Get(job->id());
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->state(), v1::JOB_STATE_SUCCEEDED) << done->error();
  EXPECT_EQ(done->step(), 10);
  EXPECT_EQ(done->data_cursor(), 10 * 4);
  EXPECT_EQ(done->last_metrics().groups(), 4);
  for (const auto& m : *metrics) {
    EXPECT_EQ(m.groups(), 4) << "step " << m.step();
    EXPECT_EQ(m.logprob_diff_max(), 0.0) << "step " << m.step();
  }
}

}  // namespace
}  // namespace flywheel::testing
