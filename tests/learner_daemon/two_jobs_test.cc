// Two GRPO jobs at once on one learner (--max-running-jobs 2), sharing one rollout server that
// hosts two named models (--model a=DIR --model b=DIR), one per job: both run at the same time,
// each job's logprob check is exactly 0 on every step, and each ends with the weights it ends
// with when run alone, bit for bit (on-policy jobs are deterministic, and neither the other job's
// requests in the same engine steps nor the shared learner threads change a bit).
#include <chrono>
#include <thread>

#include "gtest/gtest.h"
#include "tests/learner_daemon/learner_cluster.h"

namespace flywheel::testing {
namespace {

v1::JobSpec JobFor(LearnerCluster& cluster, const std::string& server, const std::string& model,
                   uint64_t seed) {
  v1::JobSpec spec = cluster.GrpoSpec();
  spec.clear_rollout_servers();
  spec.add_rollout_servers(server);
  spec.set_rollout_model(model);
  spec.set_seed(seed);
  spec.set_steps(5);
  spec.set_max_async_steps(0);
  spec.set_eval_interval(5);
  return spec;
}

bool Ended(v1::JobState s) {
  return s == v1::JOB_STATE_SUCCEEDED || s == v1::JOB_STATE_FAILED || s == v1::JOB_STATE_CANCELLED;
}

struct Finished {
  v1::Job job;
  std::vector<v1::StepMetrics> metrics;
};

Finished RunToEnd(LearnerCluster& cluster, const std::string& id) {
  Finished f;
  auto metrics = cluster.WatchToEnd(id);
  EXPECT_TRUE(metrics.ok()) << metrics.status();
  if (metrics.ok()) f.metrics = *metrics;
  auto job = cluster.Get(id);
  EXPECT_TRUE(job.ok()) << job.status();
  if (job.ok()) f.job = *job;
  EXPECT_EQ(f.job.state(), v1::JOB_STATE_SUCCEEDED) << f.job.error();
  for (const auto& m : f.metrics) {
    EXPECT_EQ(m.logprob_diff_max(), 0.0) << id << " step " << m.step();
    EXPECT_GT(m.logprob_tokens_checked(), 0) << id << " step " << m.step();
  }
  EXPECT_EQ(f.metrics.size(), 5u);
  return f;
}

TEST(TwoJobsTest, TwoJobsShareOneServerWithTwoNamedModels) {
  LearnerCluster cluster(/*rollout_servers=*/0, {"--max-running-jobs", "2"});
  auto server = cluster.StartRolloutServer(
      {"--model", "a=" + cluster.model_dir(), "--model", "b=" + cluster.model_dir()});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string address = (*server)->address();

  // Each job alone.
  auto a = cluster.Submit(JobFor(cluster, address, "a", 11));
  ASSERT_TRUE(a.ok()) << a.status();
  const Finished alone_a = RunToEnd(cluster, a->id());
  auto b = cluster.Submit(JobFor(cluster, address, "b", 12));
  ASSERT_TRUE(b.ok()) << b.status();
  const Finished alone_b = RunToEnd(cluster, b->id());

  // Both at once.
  auto a2 = cluster.Submit(JobFor(cluster, address, "a", 11));
  auto b2 = cluster.Submit(JobFor(cluster, address, "b", 12));
  ASSERT_TRUE(a2.ok()) << a2.status();
  ASSERT_TRUE(b2.ok()) << b2.status();
  bool overlapped = false;
  for (int i = 0; i < 3000 && !overlapped; ++i) {
    auto ja = cluster.Get(a2->id());
    auto jb = cluster.Get(b2->id());
    ASSERT_TRUE(ja.ok() && jb.ok());
    overlapped = ja->state() == v1::JOB_STATE_RUNNING && jb->state() == v1::JOB_STATE_RUNNING &&
                 ja->step() < 5 && jb->step() < 5;
    if (Ended(ja->state()) && Ended(jb->state())) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Finished both_a, both_b;
  std::thread wa([&] { both_a = RunToEnd(cluster, a2->id()); });
  both_b = RunToEnd(cluster, b2->id());
  wa.join();
  EXPECT_TRUE(overlapped) << "the two jobs never ran at the same time";

  // The same results as alone: final weights bit for bit, and the same rewards every step.
  EXPECT_EQ(LoadParams(both_a.job.checkpoint()), LoadParams(alone_a.job.checkpoint()));
  EXPECT_EQ(LoadParams(both_b.job.checkpoint()), LoadParams(alone_b.job.checkpoint()));
  EXPECT_NE(LoadParams(both_a.job.checkpoint()), LoadParams(both_b.job.checkpoint()));
  for (size_t s = 0; s < both_a.metrics.size() && s < alone_a.metrics.size(); ++s) {
    EXPECT_EQ(both_a.metrics[s].reward_mean(), alone_a.metrics[s].reward_mean()) << s;
    EXPECT_EQ(both_a.metrics[s].loss(), alone_a.metrics[s].loss()) << s;
  }
  for (size_t s = 0; s < both_b.metrics.size() && s < alone_b.metrics.size(); ++s) {
    EXPECT_EQ(both_b.metrics[s].reward_mean(), alone_b.metrics[s].reward_mean()) << s;
    EXPECT_EQ(both_b.metrics[s].loss(), alone_b.metrics[s].loss()) << s;
  }
}

}  // namespace
}  // namespace flywheel::testing
