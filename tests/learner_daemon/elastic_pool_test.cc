// An elastic rollout pool on real daemons: a job whose rollout_servers is ["registered"] starts on
// one server that registered with the learner; a second server started mid-job (--register)
// joins, is brought to the job's weights and serves; the first one, stopped mid-job (SIGTERM:
// it deregisters), is dropped. The job finishes with every step trained on exactly
// prompts_per_step groups (nothing lost or counted twice) and exact logprobs throughout.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "absl/strings/numbers.h"
#include "common/rpc/probes.h"
#include "gtest/gtest.h"
#include "tests/learner_daemon/learner_cluster.h"

namespace flywheel::testing {
namespace {

// The value of an unlabelled sample `name` in Prometheus text, or -1.
double MetricValue(const std::string& text, const std::string& name) {
  const size_t at = text.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  const size_t begin = at + name.size() + 2;
  double v = -1;
  return absl::SimpleAtod(text.substr(begin, text.find('\n', begin) - begin), &v) ? v : -1;
}

bool Contains(const std::vector<std::string>& messages, const std::string& part) {
  return std::any_of(messages.begin(), messages.end(),
                     [&](const std::string& m) { return m.find(part) != std::string::npos; });
}

TEST(ElasticPoolTest, ServersJoinAndLeaveARunningJob) {
  LearnerCluster cluster(/*rollout_servers=*/0);
  const std::string learner = cluster.learner()->address();
  auto first = cluster.StartRolloutServer({"--model", cluster.model_dir(), "--register", learner});
  ASSERT_TRUE(first.ok()) << first.status();

  v1::JobSpec spec = cluster.GrpoSpec();
  spec.add_rollout_servers("registered");
  spec.set_steps(60);
  spec.set_max_async_steps(1);
  spec.set_request_timeout_seconds(10);
  auto job = cluster.Submit(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  std::vector<std::string> messages;
  absl::StatusOr<std::vector<v1::StepMetrics>> metrics;
  std::thread watch([&] { metrics = cluster.WatchToEnd(job->id(), &messages); });
  struct Joiner {
    std::thread& t;
    ~Joiner() {
      if (t.joinable()) t.join();  // also when an assertion returns early
    }
  } joiner{watch};

  ASSERT_TRUE(cluster.WaitForStep(job->id(), 3).ok());
  auto second = cluster.StartRolloutServer({"--model", cluster.model_dir(), "--register", learner});
  ASSERT_TRUE(second.ok()) << second.status();
  // Wait until a step has run on both, then take the first server away.
  int64_t both_at = -1;
  for (int i = 0; i < 6000 && both_at < 0; ++i) {
    auto at = cluster.Get(job->id());
    ASSERT_TRUE(at.ok());
    if (at->last_metrics().rollout_servers() == 2) both_at = at->step();
    ASSERT_LT(at->step(), spec.steps() - 5) << "the job ended before the second server joined";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GE(both_at, 0) << "the second server never joined";
  ASSERT_TRUE(cluster.WaitForStep(job->id(), both_at + 3).ok());
  const std::string first_address = (*first)->address();
  ASSERT_TRUE((*first)->Stop(SIGTERM).ok());

  watch.join();
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  auto done = cluster.Get(job->id());
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->state(), v1::JOB_STATE_SUCCEEDED) << done->error();
  EXPECT_EQ(done->step(), 60);
  EXPECT_EQ(done->data_cursor(), 60 * 4);
  ASSERT_EQ(metrics->size(), 60u);
  int steps_with_two = 0;
  for (const auto& m : *metrics) {
    SCOPED_TRACE(m.step());
    EXPECT_EQ(m.groups(), 4);
    EXPECT_EQ(m.logprob_diff_max(), 0.0);
    EXPECT_GT(m.logprob_tokens_checked(), 0);
    if (m.rollout_servers() == 2) ++steps_with_two;
  }
  EXPECT_GT(steps_with_two, 0) << "the second server never served beside the first";
  EXPECT_EQ(metrics->back().rollout_servers(), 1);
  EXPECT_TRUE(Contains(messages, (*second)->address() + " joined"));
  EXPECT_TRUE(Contains(messages, first_address + " left the pool"));

  // The newcomer sampled for the job and serves the job's last weights.
  auto text = HttpGet((*second)->metrics_address(), "/metrics");
  ASSERT_TRUE(text.ok());
  EXPECT_GT(MetricValue(*text, "flywheel_rollout_generated_tokens_total"), 0);
  auto info = rpc::ProbeRollout((*second)->address(), 5);
  ASSERT_TRUE(info.ok());
  // Versions are numbered base + step; the job pushed 61 versions (step 0 to 60).
  EXPECT_GE(info->version(), 60);
}

}  // namespace
}  // namespace flywheel::testing
