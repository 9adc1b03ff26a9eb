// The exact asynchronous mode (async_mode "exact", max_async_steps A >= 1): the batch of step s
// is sampled entirely with the weights of step max(0, s - 1 - A), so the staleness of every
// sample is exactly that, every sample is re-checked bit for bit against the policy that drew it,
// and a learner SIGKILLed in the middle resumes to exactly the weights of an uninterrupted run
// (its checkpoints keep the last A policies, which the resumed run pushes again in order). The
// in-flight mode stays available.
#include <cstring>

#include "gtest/gtest.h"
#include "tests/learner_daemon/learner_cluster.h"

namespace flywheel::testing {
namespace {

constexpr int kAsync = 2;

v1::JobSpec ExactSpec(const LearnerCluster& cluster, const std::string& checkpoints) {
  v1::JobSpec spec = cluster.GrpoSpec();
  spec.set_max_async_steps(kAsync);
  spec.set_async_mode("exact");
  spec.set_steps(9);
  spec.set_checkpoint_interval(2);
  spec.set_eval_dataset("");
  spec.set_checkpoint_dir(checkpoints);
  return spec;
}

TEST(AsyncResumeTest, ExactAsyncRunResumesBitForBitAfterSigkill) {
  LearnerCluster cluster(/*rollout_servers=*/2);
  v1::JobSpec spec = ExactSpec(cluster, cluster.dir() + "/uninterrupted");
  auto a = cluster.Submit(spec);
  ASSERT_TRUE(a.ok()) << a.status();
  auto metrics = cluster.WatchToEnd(a->id());
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  auto a_done = cluster.Get(a->id());
  ASSERT_TRUE(a_done.ok()) << a_done.status();
  ASSERT_EQ(a_done->state(), v1::JOB_STATE_SUCCEEDED) << a_done->error();
  ASSERT_EQ(metrics->size(), 9u);
  for (const auto& m : *metrics) {
    SCOPED_TRACE(m.step());
    // Exactly one policy per batch: staleness is the same for every sample of the step.
    const int64_t want = std::min<int64_t>(kAsync, m.step() - 1);
    EXPECT_EQ(m.staleness_max(), want);
    EXPECT_EQ(m.staleness_mean(), static_cast<double>(want));
    EXPECT_GT(m.logprob_tokens_checked(), 0);
    EXPECT_EQ(m.logprob_diff_max(), 0.0);
  }

  spec.set_checkpoint_dir(cluster.dir() + "/interrupted");
  auto b = cluster.Submit(spec);
  ASSERT_TRUE(b.ok()) << b.status();
  // Past a checkpoint that holds earlier policies (step >= 2 + A), before the end.
  ASSERT_TRUE(cluster.WaitForStep(b->id(), 5).ok());
  cluster.RestartLearner();
  auto b_done = cluster.Wait(b->id());
  ASSERT_TRUE(b_done.ok()) << b_done.status();
  ASSERT_EQ(b_done->state(), v1::JOB_STATE_SUCCEEDED) << b_done->error();
  EXPECT_EQ(b_done->step(), 9);
  EXPECT_EQ(b_done->data_cursor(), a_done->data_cursor());
  EXPECT_EQ(b_done->last_metrics().loss(), a_done->last_metrics().loss());
  EXPECT_EQ(b_done->last_metrics().reward_mean(), a_done->last_metrics().reward_mean());

  const std::vector<float> wa = LoadParams(a_done->checkpoint());
  const std::vector<float> wb = LoadParams(b_done->checkpoint());
  ASSERT_EQ(wa.size(), wb.size());
  ASSERT_FALSE(wa.empty());
  EXPECT_EQ(std::memcmp(wa.data(), wb.data(), wa.size() * sizeof(float)), 0)
      << "the resumed asynchronous run's weights differ from the uninterrupted run's";
  EXPECT_NE(wa, LoadParams(cluster.model_dir()));
}

TEST(AsyncResumeTest, InFlightModeStillRuns) {
  LearnerCluster cluster;
  v1::JobSpec spec = ExactSpec(cluster, cluster.dir() + "/in-flight");
  spec.set_async_mode("in_flight");
  spec.set_steps(5);
  auto job = cluster.Submit(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  auto metrics = cluster.WatchToEnd(job->id());
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  auto done = cluster.Get(job->id());
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->state(), v1::JOB_STATE_SUCCEEDED) << done->error();
  for (const auto& m : *metrics) {
    EXPECT_LE(m.staleness_max(), kAsync) << m.step();
    EXPECT_EQ(m.logprob_diff_max(), 0.0) << m.step();
  }
}

}  // namespace
}  // namespace flywheel::testing
