// A GRPO job on a real cluster (rollout server, reward server, learner over gRPC): it finishes,
// trains on exactly prompts_per_step groups each step, its rollout-vs-learner logprob difference
// is exactly 0 on every step (with a step of staleness, so stale samples are re-checked against
// the snapshot of the weights that drew them), and its checkpoints load as Hugging Face dirs.
#include <filesystem>

#include "gtest/gtest.h"
#include "learner/training/checkpoint.h"
#include "tests/learner_daemon/learner_cluster.h"

namespace flywheel::testing {
namespace {

TEST(GrpoJobTest, RunsWithExactLogprobsAndCheckpoints) {
  LearnerCluster cluster;
  v1::JobSpec spec = cluster.GrpoSpec();
  spec.set_max_async_steps(1);
  auto job = cluster.Submit(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->state(), v1::JOB_STATE_QUEUED);
  auto metrics = cluster.WatchToEnd(job->id());
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  auto done = cluster.Get(job->id());
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->state(), v1::JOB_STATE_SUCCEEDED) << done->error();
  EXPECT_EQ(done->step(), 6);
  EXPECT_EQ(done->data_cursor(), 6 * 4);
  ASSERT_EQ(metrics->size(), 6u);
  int64_t stale_samples_steps = 0;
  for (const auto& m : *metrics) {
    SCOPED_TRACE(m.step());
    EXPECT_EQ(m.groups(), 4);
    // The central guarantee: bitwise-equal logprobs, so the difference is exactly zero.
    EXPECT_EQ(m.logprob_diff_max(), 0.0);
    EXPECT_EQ(m.logprob_diff_mean(), 0.0);
    EXPECT_GT(m.logprob_tokens_checked(), 0);
    EXPECT_LE(m.staleness_max(), 1);
    if (m.staleness_max() == 1) ++stale_samples_steps;
    EXPECT_GT(m.completion_tokens(), 0);
    EXPECT_GE(m.reward_mean(), 0.0);
    EXPECT_LE(m.reward_mean(), 1.0);
    EXPECT_TRUE(std::isfinite(m.grad_norm()));
    EXPECT_GT(m.update_seconds(), 0.0);
  }
  // With max_async_steps 1 the producer runs ahead, so some batches are one version old.
  EXPECT_GT(stale_samples_steps, 0);
  EXPECT_TRUE(metrics->at(2).has_eval_accuracy());
  EXPECT_TRUE(metrics->at(5).has_eval_accuracy());
  EXPECT_TRUE(done->has_initial_eval_accuracy());

  // The latest checkpoint is step 6, loadable as a model directory with a tokenizer.
  ASSERT_FALSE(done->checkpoint().empty());
  auto ckpt = learner::LoadLatestCheckpoint(
      (std::filesystem::path(cluster.state_dir()) / "jobs" / job->id() / "checkpoints").string());
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  EXPECT_EQ(ckpt->dir, done->checkpoint());
  EXPECT_EQ(ckpt->state.step, 6);
  EXPECT_EQ(ckpt->state.data_cursor, 24);
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(ckpt->dir) / "tokenizer.json"));
  // Training changed the weights.
  EXPECT_NE(LoadParams(ckpt->dir), LoadParams(cluster.model_dir()));
}

}  // namespace
}  // namespace flywheel::testing
