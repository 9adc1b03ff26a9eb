// A real Prometheus (Debian's `prometheus`), started by the test, scrapes the learner, the
// rollout server and the reward server during a short job; its HTTP API then returns the
// learner's reward series for the job, and every target is up. The learner's /metrics also
// passes promtool's lint.

#include <fstream>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/learner_daemon/learner_cluster.h"
#include "tests/util/prometheus_server.h"
#include "tests/util/subprocess.h"

namespace flywheel::testing {
namespace {

TEST(PrometheusTest, ScrapesAllThreeDaemonsDuringAJob) {
  LearnerCluster cluster;
  const std::string config = ScrapeConfig({{"learner", cluster.learner()->metrics_address()},
                                           {"rollout", cluster.rollout(0)->metrics_address()},
                                           {"reward", cluster.reward()->metrics_address()}});
  auto prometheus = PrometheusServer::Start(cluster.dir(), config);
  ASSERT_TRUE(prometheus.ok()) << prometheus.status();

  v1::JobSpec spec = cluster.GrpoSpec();
  spec.set_steps(20);
  auto job = cluster.Submit(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  auto done = cluster.Wait(job->id());
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->state(), v1::JOB_STATE_SUCCEEDED) << done->error();

  // The learner keeps exporting each job's last values, so the series is there to be found.
  auto reward = (*prometheus)->QueryUntil("flywheel_learner_reward_mean", 1, 60);
  ASSERT_EQ(reward.size(), 1u) << reward.dump();
  // The label is job_id: Prometheus owns `job` (the scrape job) and would rename ours.
  EXPECT_EQ(reward[0]["metric"]["job_id"], job->id());
  auto up = (*prometheus)->QueryUntil("up==1", 3, 30);
  EXPECT_EQ(up.size(), 3u) << up.dump();
  auto diff = (*prometheus)->QueryUntil("flywheel_learner_logprob_diff_max", 1, 10);
  ASSERT_EQ(diff.size(), 1u);
  EXPECT_EQ(diff[0]["value"][1], "0");

  auto metrics = HttpGet(cluster.learner()->metrics_address(), "/metrics");
  ASSERT_TRUE(metrics.ok());
  {
    std::ofstream f(cluster.dir() + "/learner_metrics.txt");
    f << *metrics;
  }
  std::string out;
  EXPECT_EQ(RunCommand("promtool check metrics < " + cluster.dir() + "/learner_metrics.txt", &out),
            0)
      << out;
}

}  // namespace
}  // namespace flywheel::testing
