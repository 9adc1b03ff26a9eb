// Fleet-consistent weight switches through RolloutPool against three real rollout daemons:
//  - while clients keep sampling on every server, the pool pushes four new versions; every
//    request started after a version's commit is served, on whichever server, by that version
//    or a newer one (never the old weights beside the new);
//  - a server that cannot stage a push (frozen with SIGSTOP) is dropped and reported, the others
//    switch, and when it answers again it is brought to the committed version before it serves;
//  - a "dns:NAME:PORT" entry takes up the server its name resolves to.
#include <signal.h>

#include <chrono>
#include <mutex>
#include <random>
#include <thread>

#include "common/base/logging.h"
#include "common/model/checkpoint.h"
#include "common/model/parameters.h"
#include "common/rpc/probes.h"
#include "gtest/gtest.h"
#include "learner/servers/rollout_pool.h"
#include "tests/model/test_util.h"
#include "tests/util/daemon_process.h"

namespace flywheel::testing {
namespace {

using Clock = std::chrono::steady_clock;

class FleetSwitchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = model::PresetConfig("tiny");
    ASSERT_TRUE(config.ok());
    weights_ = model::RandomModel(*config, 7);
    ASSERT_TRUE(
        model::SaveModelDir(tmp_.File("model"), weights_.config, weights_.params.data()).ok());
  }

  std::unique_ptr<DaemonProcess> StartServer(const std::string& listen = "127.0.0.1:0") {
    auto r = DaemonProcess::Start({FLYWHEEL_ROLLOUT_BIN, "--model", tmp_.File("model"), "--listen",
                                   listen, "--metrics-listen", "127.0.0.1:0", "--threads", "1",
                                   "--kv-blocks", "256"});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? std::move(*r) : nullptr;
  }

  // n servers, appended to *servers, with their addresses.
  void StartServers(int n, std::vector<std::unique_ptr<DaemonProcess>>* servers,
                    std::vector<std::string>* addresses) {
    for (int i = 0; i < n; ++i) {
      servers->push_back(StartServer());
      ASSERT_NE(servers->back(), nullptr);
      addresses->push_back(servers->back()->address());
    }
  }

  learner::RolloutPoolOptions Options(const std::vector<std::string>& servers) {
    learner::RolloutPoolOptions o;
    o.servers = servers;
    o.timeout_seconds = 3;  // a frozen server's stage fails after this long
    o.refresh_seconds = 0.2;
    o.on_event = [this](const std::string& m) {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back(m);
    };
    return o;
  }

  // The weights of version v: the model perturbed by a seed of v, so versions differ.
  std::vector<float> Version(int64_t v) const {
    std::vector<float> p = weights_.params;
    std::mt19937 rng(static_cast<uint32_t>(v));
    std::normal_distribution<float> noise(0.0f, 0.02f);
    for (float& x : p) x += noise(rng);
    return p;
  }

  v1::GenerateRequest Request(uint64_t seed) const {
    v1::GenerateRequest r;
    for (int i = 0; i < 6; ++i) r.add_prompt_ids(3 + static_cast<int>((seed + i) % 40));
    r.set_n(2);
    r.mutable_sampling()->set_max_tokens(6);
    r.mutable_sampling()->set_seed(seed);
    r.mutable_sampling()->set_ignore_eos(true);
    return r;
  }

  bool HasEvent(const std::string& part) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& e : events_) {
      if (e.find(part) != std::string::npos) return true;
    }
    return false;
  }

  TempDir tmp_;
  model::ModelWeights weights_;
  std::mutex mu_;
  std::vector<std::string> events_;
};

TEST_F(FleetSwitchTest, NoRequestStartedAfterACommitMeetsOldWeights) {
  std::vector<std::unique_ptr<DaemonProcess>> servers;
  std::vector<std::string> addresses;
  ASSERT_NO_FATAL_FAILURE(StartServers(3, &servers, &addresses));
  learner::RolloutPool pool(Options(addresses));
  const model::ParameterLayout layout(weights_.config);
  ASSERT_TRUE(pool.PushAll(layout, Version(1).data(), 1).ok());

  struct Seen {
    Clock::time_point started;
    int64_t oldest_version;
  };
  std::mutex seen_mu;
  std::vector<Seen> seen;
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 3; ++c) {
    clients.emplace_back([&, c] {
      for (uint64_t k = 0; !stop.load(); ++k) {
        // Three requests per call so every server gets work.
        std::vector<v1::GenerateRequest> reqs = {Request(c * 100000 + 3 * k),
                                                 Request(c * 100000 + 3 * k + 1),
                                                 Request(c * 100000 + 3 * k + 2)};
        const Clock::time_point t0 = Clock::now();
        auto out = pool.GenerateAll(reqs, nullptr);
        if (!out.ok()) {
          ++failures;
          continue;
        }
        std::lock_guard<std::mutex> lock(seen_mu);
        for (const auto& resp : *out) {
          for (const auto& comp : resp.completions()) {
            seen.push_back({t0, *std::min_element(comp.versions().begin(), comp.versions().end())});
          }
        }
      }
    });
  }
  std::vector<std::pair<int64_t, Clock::time_point>> commits;
  for (int64_t v = 2; v <= 5; ++v) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto pushed = pool.PushAll(layout, Version(v).data(), v);
    ASSERT_TRUE(pushed.ok()) << pushed.status();
    EXPECT_EQ(pushed->servers_updated, 3);
    EXPECT_TRUE(pushed->dropped.empty());
    commits.push_back({v, pushed->committed_at});
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0);

  int64_t after_commits = 0, old_before_commit = 0;
  for (const Seen& s : seen) {
    for (const auto& [v, at] : commits) {
      if (s.started > at) {
        ++after_commits;
        EXPECT_GE(s.oldest_version, v)
            << "a request started after version " << v << " was committed was served by version "
            << s.oldest_version;
      } else if (s.oldest_version < v) {
        ++old_before_commit;
      }
    }
  }
  EXPECT_GT(after_commits, 30);
  // Requests from before a commit did meet the older weights: the check above is not vacuous.
  EXPECT_GT(old_before_commit, 0);
  // Every server took part and ended on the last version.
  for (const auto& a : addresses) {
    auto info = rpc::ProbeRollout(a, 5);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->version(), 5) << a;
  }
  for (const auto& s : servers) {
    auto metrics = HttpGet(s->metrics_address(), "/metrics");
    ASSERT_TRUE(metrics.ok());
    EXPECT_EQ(metrics->find("flywheel_rollout_generated_tokens_total 0\n"), std::string::npos)
        << s->address() << " served nothing";
  }
}

TEST_F(FleetSwitchTest, ServerThatFailsToStageIsDroppedThenBroughtUpToDate) {
  std::vector<std::unique_ptr<DaemonProcess>> servers;
  std::vector<std::string> addresses;
  ASSERT_NO_FATAL_FAILURE(StartServers(3, &servers, &addresses));
  learner::RolloutPool pool(Options(addresses));
  const model::ParameterLayout layout(weights_.config);
  ASSERT_TRUE(pool.PushAll(layout, Version(1).data(), 1).ok());
  ASSERT_EQ(pool.serving(), 3);

  ::kill(servers[2]->pid(), SIGSTOP);  // hung: it will not stage the next push in time
  auto pushed = pool.PushAll(layout, Version(2).data(), 2);
  ASSERT_TRUE(pushed.ok()) << pushed.status();
  EXPECT_EQ(pushed->servers_updated, 2);
  ASSERT_EQ(pushed->dropped.size(), 1u);
  EXPECT_EQ(pushed->dropped[0], addresses[2]);
  EXPECT_TRUE(HasEvent("failed to stage version 2"));
  EXPECT_EQ(pool.serving(), 2);
  // Work goes on at version 2 on the two others.
  std::vector<v1::GenerateRequest> reqs;
  for (int i = 0; i < 12; ++i) reqs.push_back(Request(i));
  auto out = pool.GenerateAll(reqs, nullptr);
  ASSERT_TRUE(out.ok()) << out.status();
  for (const auto& r : *out) {
    for (const auto& c : r.completions()) {
      for (int64_t v : c.versions()) EXPECT_EQ(v, 2);
    }
  }

  ::kill(servers[2]->pid(), SIGCONT);
  // It answers again: the pool syncs it to version 2 before it serves.
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (pool.serving() < 3 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(pool.serving(), 3);
  auto info = rpc::ProbeRollout(addresses[2], 5);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->version(), 2) << "brought to the committed weights, not left behind";
  out = pool.GenerateAll(reqs, nullptr);
  ASSERT_TRUE(out.ok()) << out.status();
  for (const auto& r : *out) {
    for (const auto& c : r.completions()) {
      for (int64_t v : c.versions()) EXPECT_EQ(v, 2);
    }
  }
}

TEST_F(FleetSwitchTest, DnsEntryTakesUpTheResolvedServer) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  const std::string port = server->address().substr(server->address().rfind(':') + 1);
  // localhost resolves to 127.0.0.1 here; the server listens there.
  learner::RolloutPool pool(Options({"dns:localhost:" + port}));
  EXPECT_EQ(pool.serving(), 1);
  EXPECT_TRUE(HasEvent("127.0.0.1:" + port + " joined"));
  const model::ParameterLayout layout(weights_.config);
  ASSERT_TRUE(pool.PushAll(layout, Version(1).data(), 1).ok());
  auto out = pool.GenerateAll({Request(1)}, nullptr);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->at(0).completions(0).versions(0), 1);
}

}  // namespace
}  // namespace flywheel::testing
