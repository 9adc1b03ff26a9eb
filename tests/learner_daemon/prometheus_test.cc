// A real Prometheus (Debian's `prometheus`), started by the test, scrapes the learner, the
// rollout server and the reward server during a short job; its HTTP API then returns the
// learner's reward series for the job, and every target is up. The learner's /metrics also
// passes promtool's lint.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/learner_daemon/learner_cluster.h"
#include "tests/util/subprocess.h"

namespace flywheel::testing {
namespace {

// A port that was free a moment ago (Prometheus cannot report a port it picked itself).
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Polls the Prometheus query API until `query` returns at least `min_series` series.
nlohmann::json QueryUntil(const std::string& prom, const std::string& query, size_t min_series,
                          double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  nlohmann::json result = nlohmann::json::array();
  while (std::chrono::steady_clock::now() < deadline) {
    auto body = HttpGet(prom, "/api/v1/query?query=" + query);
    if (body.ok()) {
      auto j = nlohmann::json::parse(*body, nullptr, false);
      if (j.is_object() && j.value("status", "") == "success") {
        result = j["data"]["result"];
        if (result.size() >= min_series) return result;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return result;
}

TEST(PrometheusTest, ScrapesAllThreeDaemonsDuringAJob) {
  LearnerCluster cluster;
  const std::string prom = "127.0.0.1:" + std::to_string(FreePort());
  {
    std::ofstream cfg(cluster.dir() + "/prometheus.yml");
    cfg << "global:\n  scrape_interval: 200ms\n  scrape_timeout: 200ms\n"
        << "scrape_configs:\n"
        << "  - job_name: learner\n    static_configs:\n      - targets: ['"
        << cluster.learner()->metrics_address() << "']\n"
        << "  - job_name: rollout\n    static_configs:\n      - targets: ['"
        << cluster.rollout(0)->metrics_address() << "']\n"
        << "  - job_name: reward\n    static_configs:\n      - targets: ['"
        << cluster.reward()->metrics_address() << "']\n";
  }
  std::string out;
  ASSERT_EQ(RunCommand("promtool check config " + cluster.dir() + "/prometheus.yml", &out), 0)
      << out;
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string config = "--config.file=" + cluster.dir() + "/prometheus.yml";
    const std::string storage = "--storage.tsdb.path=" + cluster.dir() + "/tsdb";
    const std::string listen = "--web.listen-address=" + prom;
    const std::string log = cluster.dir() + "/prometheus.log";
    freopen(log.c_str(), "w", stdout);
    freopen(log.c_str(), "a", stderr);
    execlp("prometheus", "prometheus", config.c_str(), storage.c_str(), listen.c_str(),
           static_cast<char*>(nullptr));
    _exit(127);
  }
  auto stop_prometheus = [&] {
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
  };

  v1::JobSpec spec = cluster.GrpoSpec();
  spec.set_steps(20);
  auto job = cluster.Submit(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  auto done = cluster.Wait(job->id());
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->state(), v1::JOB_STATE_SUCCEEDED) << done->error();

  // The learner keeps exporting each job's last values, so the series is there to be found.
  auto reward = QueryUntil(prom, "flywheel_learner_reward_mean", 1, 60);
  ASSERT_EQ(reward.size(), 1u) << reward.dump();
  // The label is job_id: Prometheus owns `job` (the scrape job) and would rename ours.
  EXPECT_EQ(reward[0]["metric"]["job_id"], job->id());
  auto up = QueryUntil(prom, "up%3D%3D1", 3, 30);
  EXPECT_EQ(up.size(), 3u) << up.dump();
  auto diff = QueryUntil(prom, "flywheel_learner_logprob_diff_max", 1, 10);
  ASSERT_EQ(diff.size(), 1u);
  EXPECT_EQ(diff[0]["value"][1], "0");

  auto metrics = HttpGet(cluster.learner()->metrics_address(), "/metrics");
  ASSERT_TRUE(metrics.ok());
  {
    std::ofstream f(cluster.dir() + "/learner_metrics.txt");
    f << *metrics;
  }
  EXPECT_EQ(RunCommand("promtool check metrics < " + cluster.dir() + "/learner_metrics.txt", &out),
            0)
      << out;
  stop_prometheus();
}

}  // namespace
}  // namespace flywheel::testing
