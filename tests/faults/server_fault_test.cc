// Faults of the servers a job depends on, injected from outside on real daemons: a rollout server
// that hangs (SIGSTOP) and a reward server that is killed, with a replica and without one. Each
// faulted run is compared with an unfaulted run of the same spec on the same cluster: the job is
// deterministic (exact asynchronous mode, seeded sampling), so identical final weights prove that
// no sample was lost, duplicated or scored twice on the way. Each test is bounded by short request
// timeouts and outage deadlines.
#include <signal.h>

#include <future>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/learner_daemon/learner_cluster.h"
#include "tests/util/time_scale.h"

namespace flywheel::testing {
namespace {

v1::JobSpec FaultSpec(const LearnerCluster& cluster, const std::string& name) {
  v1::JobSpec spec = cluster.GrpoSpec();
  spec.set_steps(8);
  spec.set_eval_dataset("");
  spec.set_max_async_steps(1);
  spec.set_async_mode("exact");
  spec.set_checkpoint_interval(3);
  spec.set_checkpoint_dir(cluster.dir() + "/" + name);
  // A hung server's request is given up and moved after this long (a weight push too).
  spec.set_request_timeout_seconds(2 * TimeScale());
  return spec;
}

bool AnyContains(const std::vector<std::string>& lines, const std::string& part) {
  for (const auto& l : lines) {
    if (absl::StrContains(l, part)) return true;
  }
  return false;
}

// Runs `spec`, applies `fault` once the job has completed `at_step` steps, and returns the final
// record and every event message.
struct Faulted {
  v1::Job job;
  std::vector<std::string> events;
};
Faulted RunWithFault(LearnerCluster& cluster, const v1::JobSpec& spec, int64_t at_step,
                     const std::function<void()>& fault) {
  auto job = cluster.Submit(spec);
  EXPECT_TRUE(job.ok()) << job.status();
  if (!job.ok()) return {};
  auto events = std::async(std::launch::async, [&] { return cluster.EventsToEnd(job->id()); });
  EXPECT_TRUE(cluster.WaitForStep(job->id(), at_step, 120).ok());
  fault();
  auto messages = events.get();
  EXPECT_TRUE(messages.ok()) << messages.status();
  auto done = cluster.Get(job->id());
  EXPECT_TRUE(done.ok()) << done.status();
  return {done.ok() ? *done : v1::Job(), messages.ok() ? *messages : std::vector<std::string>()};
}

TEST(ServerFaultTest, HungRolloutServersRequestsTimeOutAndMoveToTheReplica) {
  LearnerCluster cluster(/*rollout_servers=*/2);
  auto reference = cluster.RunToSuccess(FaultSpec(cluster, "reference"));
  ASSERT_TRUE(reference.ok()) << reference.status();

  const pid_t hung = cluster.rollout(1)->pid();
  const auto t0 = std::chrono::steady_clock::now();
  Faulted f = RunWithFault(cluster, FaultSpec(cluster, "faulted"), 2, [&] { kill(hung, SIGSTOP); });
  kill(hung, SIGCONT);
  ASSERT_EQ(f.job.state(), v1::JOB_STATE_SUCCEEDED) << f.job.error();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(90) * TimeScale());
  EXPECT_TRUE(AnyContains(
      f.events, absl::StrCat("rollout server ", cluster.rollout(1)->address(), " failed")))
      << "no event about the hung server";
  EXPECT_EQ(f.job.data_cursor(), reference->data_cursor());
  EXPECT_TRUE(SameWeights(f.job.checkpoint(), reference->checkpoint()))
      << "the run with a hung server differs from the unfaulted run";
}

TEST(ServerFaultTest, KilledRewardServersWorkMovesToItsReplica) {
  LearnerCluster cluster(LearnerClusterOptions{.reward_servers = 2});
  auto reference = cluster.RunToSuccess(FaultSpec(cluster, "reference"));
  ASSERT_TRUE(reference.ok()) << reference.status();

  // A batch's 16 items are one request, which goes to the first server while both are idle: that
  // is the one to kill.
  const std::string killed = cluster.reward(0)->address();
  Faulted f =
      RunWithFault(cluster, FaultSpec(cluster, "faulted"), 2, [&] { cluster.KillReward(0); });
  ASSERT_EQ(f.job.state(), v1::JOB_STATE_SUCCEEDED) << f.job.error();
  EXPECT_TRUE(AnyContains(f.events, absl::StrCat("reward server ", killed, " failed")))
      << "the killed reward server was never asked: the test did not test the fault";
  EXPECT_GT(f.job.last_metrics().retries(), 0);
  EXPECT_TRUE(SameWeights(f.job.checkpoint(), reference->checkpoint()))
      << "the run with a killed reward server differs from the unfaulted run";
  EXPECT_EQ(f.job.last_metrics().reward_errors(), 0);
}

TEST(ServerFaultTest, JobWaitsForItsOnlyRewardServerToComeBack) {
  LearnerCluster cluster;
  auto reference = cluster.RunToSuccess(FaultSpec(cluster, "reference"));
  ASSERT_TRUE(reference.ok()) << reference.status();

  Faulted f = RunWithFault(cluster, FaultSpec(cluster, "faulted"), 2, [&] {
    cluster.KillReward(0);
    std::this_thread::sleep_for(std::chrono::seconds(3));  // the job backs off meanwhile
    cluster.RestartReward(0);
  });
  ASSERT_EQ(f.job.state(), v1::JOB_STATE_SUCCEEDED) << f.job.error();
  EXPECT_TRUE(AnyContains(f.events, "failed")) << "no event about the dead reward server";
  EXPECT_TRUE(AnyContains(f.events, "is back")) << "no event about its return";
  EXPECT_TRUE(SameWeights(f.job.checkpoint(), reference->checkpoint()))
      << "the run that waited for its reward server differs from the unfaulted run";
}

TEST(ServerFaultTest, JobFailsCleanlyWhenItsRewardServerStaysDown) {
  LearnerCluster cluster;
  v1::JobSpec spec = FaultSpec(cluster, "faulted");
  spec.set_max_server_outage_seconds(3);
  const auto t0 = std::chrono::steady_clock::now();
  Faulted f = RunWithFault(cluster, spec, 3, [&] { cluster.KillReward(0); });
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(60) * TimeScale());
  ASSERT_EQ(f.job.state(), v1::JOB_STATE_FAILED);
  EXPECT_TRUE(absl::StrContains(f.job.error(), "every reward server has been down for 3 s"))
      << f.job.error();
  // The checkpoint of step 3 is the job's last good one, and says so.
  EXPECT_TRUE(absl::StrContains(f.job.error(), "last good checkpoint")) << f.job.error();
  EXPECT_FALSE(LoadParams(f.job.checkpoint()).empty());
}

}  // namespace
}  // namespace flywheel::testing
