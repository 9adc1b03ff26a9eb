// SIGKILL the learner in the middle of a job and start it again on the same state dir: the job
// resumes from its latest checkpoint and ends with exactly the weights, step count and data
// cursor of an uninterrupted run with the same seed (strictly on-policy, so the run is
// deterministic: sampling seeds come from the seed and the data cursor, and the kernels are
// batch-invariant).
#include <filesystem>

#include "gtest/gtest.h"
#include "tests/learner_daemon/learner_cluster.h"

namespace flywheel::testing {
namespace {

TEST(ResumeTest, KilledLearnerResumesToIdenticalWeights) {
  LearnerCluster cluster;
  v1::JobSpec spec = cluster.GrpoSpec();
  spec.set_max_async_steps(0);
  spec.set_steps(8);
  spec.set_checkpoint_interval(2);
  spec.set_eval_dataset("");
  spec.set_checkpoint_dir(cluster.dir() + "/uninterrupted");
  auto a = cluster.Submit(spec);
  ASSERT_TRUE(a.ok()) << a.status();
  auto a_done = cluster.Wait(a->id());
  ASSERT_TRUE(a_done.ok()) << a_done.status();
  ASSERT_EQ(a_done->state(), v1::JOB_STATE_SUCCEEDED) << a_done->error();

  spec.set_checkpoint_dir(cluster.dir() + "/interrupted");
  auto b = cluster.Submit(spec);
  ASSERT_TRUE(b.ok()) << b.status();
  // Past the first checkpoint (step 2), before the end.
  ASSERT_TRUE(cluster.WaitForStep(b->id(), 3).ok());
  cluster.RestartLearner();
  auto listed = cluster.Get(b->id());
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_NE(listed->state(), v1::JOB_STATE_FAILED);
  auto b_done = cluster.Wait(b->id());
  ASSERT_TRUE(b_done.ok()) << b_done.status();
  ASSERT_EQ(b_done->state(), v1::JOB_STATE_SUCCEEDED) << b_done->error();
  EXPECT_EQ(b_done->step(), 8);
  EXPECT_EQ(b_done->data_cursor(), a_done->data_cursor());

  const std::vector<float> wa = LoadParams(a_done->checkpoint());
  const std::vector<float> wb = LoadParams(b_done->checkpoint());
  ASSERT_EQ(wa.size(), wb.size());
  ASSERT_FALSE(wa.empty());
  EXPECT_EQ(std::memcmp(wa.data(), wb.data(), wa.size() * sizeof(float)), 0)
      << "the resumed run's weights differ from the uninterrupted run's";
  // The optimizer state continued too (same bytes in the final checkpoint's moments).
  for (const char* f : {"optimizer.safetensors", "trainer_state.json"}) {
    EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(b_done->checkpoint()) / f)) << f;
  }
  // And the uninterrupted run really trained.
  EXPECT_NE(wa, LoadParams(cluster.model_dir()));
}

}  // namespace
}  // namespace flywheel::testing
