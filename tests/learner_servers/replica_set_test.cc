// ReplicaSet against a model of the servers: each "server" completes calls on threads of its own
// with a status the test scripts per call, so dispatch, retries, backoff and the outage deadline
// run exactly as they do over gRPC (and under ThreadSanitizer in CI), without the network. Every
// test checks the contract: each task succeeds exactly once, whatever failed on the way.
#include "learner/servers/replica_set.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace flywheel::learner {
namespace {

using Clock = std::chrono::steady_clock;

// Servers whose calls complete asynchronously on detached-at-join threads, with the status that
// `script(server, call_number)` returns.
class FakeServers {
 public:
  using Script = std::function<grpc::Status(int server, int64_t call)>;
  explicit FakeServers(Script script) : script_(std::move(script)) {}
  ~FakeServers() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& t : threads_) t.join();
  }

  ReplicaSet::StartFn Start() {
    return [this](int server, int64_t task, std::function<void(const grpc::Status&)> done) {
      const int64_t call = calls_.fetch_add(1);
      std::lock_guard<std::mutex> lock(mu_);
      threads_.emplace_back([this, server, task, call, done = std::move(done)] {
        const grpc::Status st = script_(server, call);
        if (st.ok()) {
          std::lock_guard<std::mutex> l(results_mu_);
          successes_.push_back(task);
        }
        done(st);
      });
    };
  }

  // Tasks that succeeded, one entry per success.
  std::vector<int64_t> successes() {
    std::lock_guard<std::mutex> l(results_mu_);
    return successes_;
  }

 private:
  const Script script_;
  std::atomic<int64_t> calls_{0};
  std::mutex mu_;
  std::vector<std::thread> threads_;
  std::mutex results_mu_;
  std::vector<int64_t> successes_;
};

void ExpectEachOnce(std::vector<int64_t> successes, int64_t n) {
  std::sort(successes.begin(), successes.end());
  std::vector<int64_t> want(n);
  for (int64_t i = 0; i < n; ++i) want[i] = i;
  EXPECT_EQ(successes, want);
}

const grpc::Status kDown(grpc::StatusCode::UNAVAILABLE, "connection refused");
const grpc::Status kHung(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline");

TEST(ReplicaSetTest, DeadServersTasksRunOnceOnTheOther) {
  // The live server takes 5 ms a call, so that it still has calls in flight when the next task is
  // dispatched: the dispatcher picks the server with the fewest calls in flight, and a server
  // that answered at once (as under ThreadSanitizer's slower dispatch) could take every task
  // before the dead one got any.
  FakeServers servers([](int server, int64_t) {
    if (server == 1) return kDown;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return grpc::Status::OK;
  });
  std::vector<std::string> events;
  std::mutex events_mu;
  ReplicaSet set({"a", "b"}, {.kind = "reward server", .recover_after_seconds = 0.05},
                 [&](const std::string& m) {
                   std::lock_guard<std::mutex> l(events_mu);
                   events.push_back(m);
                 });
  ASSERT_TRUE(set.RunAll(200, 4, servers.Start(), nullptr).ok());
  ExpectEachOnce(servers.successes(), 200);
  EXPECT_GT(set.retries(), 0);
  EXPECT_FALSE(events.empty());
}

TEST(ReplicaSetTest, ConcurrentRunsShareTheServers) {
  FakeServers servers([](int server, int64_t call) {
    return server == 0 && call % 3 == 0 ? kHung : grpc::Status::OK;
  });
  ReplicaSet set({"a", "b", "c"}, {.recover_after_seconds = 0.01}, nullptr);
  std::vector<std::thread> runs;
  std::atomic<int> ok{0};
  for (int r = 0; r < 4; ++r) {
    runs.emplace_back([&] { ok += set.RunAll(50, 2, servers.Start(), nullptr).ok(); });
  }
  for (auto& t : runs) t.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(servers.successes().size(), 200u);
}

TEST(ReplicaSetTest, WaitsWithBackoffWhileEveryServerIsDownAndContinues) {
  const auto back = Clock::now() + std::chrono::milliseconds(700);
  FakeServers servers([&](int, int64_t) { return Clock::now() < back ? kDown : grpc::Status::OK; });
  std::atomic<int> failed_events{0}, back_events{0};
  ReplicaSet set(
      {"only"},
      {.recover_after_seconds = 0.05, .max_recover_seconds = 0.2, .max_outage_seconds = 30},
      [&](const std::string& m) {
        if (m.find("is back") != std::string::npos) ++back_events;
        if (m.find("failed") != std::string::npos) ++failed_events;
      });
  const auto t0 = Clock::now();
  ASSERT_TRUE(set.RunAll(10, 4, servers.Start(), nullptr).ok());
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(650));
  // The backoff is capped at 0.2 s, so the return is noticed within about that.
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(700 + 2500));
  ExpectEachOnce(servers.successes(), 10);
  EXPECT_GE(failed_events.load(), 1);
  EXPECT_GE(back_events.load(), 1);
}

TEST(ReplicaSetTest, GivesUpCleanlyAfterTheOutageDeadline) {
  FakeServers servers([](int, int64_t) { return kDown; });
  ReplicaSet set(
      {"a", "b"},
      {.kind = "reward server", .recover_after_seconds = 0.02, .max_outage_seconds = 0.3}, nullptr);
  const auto t0 = Clock::now();
  const absl::Status st = set.RunAll(5, 4, servers.Start(), nullptr);
  EXPECT_TRUE(absl::IsUnavailable(st)) << st;
  EXPECT_NE(st.message().find("every reward server has been down for 0.3 s"), std::string::npos)
      << st;
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(300));
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
}

TEST(ReplicaSetTest, ServersThatStayDownUntilMarkedUpFailAtOnce) {
  FakeServers servers([](int, int64_t) { return kDown; });
  ReplicaSet set({"a"}, {.kind = "rollout server"}, nullptr);  // recover_after_seconds < 0
  const absl::Status st = set.RunAll(3, 4, servers.Start(), nullptr);
  EXPECT_TRUE(absl::IsUnavailable(st)) << st;
  EXPECT_NE(st.message().find("every rollout server has failed"), std::string::npos) << st;
}

TEST(ReplicaSetTest, ARequestThatBreaksEveryServerIsNotRetriedForever) {
  // INTERNAL is transient (worth another replica) but counts: after the attempts it gives up.
  FakeServers servers(
      [](int, int64_t) { return grpc::Status(grpc::StatusCode::INTERNAL, "boom"); });
  ReplicaSet set({"a", "b"}, {.recover_after_seconds = 0.01, .max_outage_seconds = 30}, nullptr);
  const absl::Status st = set.RunAll(1, 4, servers.Start(), nullptr);
  EXPECT_TRUE(absl::IsInternal(st)) << st;
}

TEST(ReplicaSetTest, NonTransientErrorIsReturned) {
  FakeServers servers([](int, int64_t call) {
    return call == 3 ? grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad item")
                     : grpc::Status::OK;
  });
  ReplicaSet set({"a", "b"}, {.recover_after_seconds = 0.01}, nullptr);
  const absl::Status st = set.RunAll(20, 2, servers.Start(), nullptr);
  EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;
}

TEST(ReplicaSetTest, CancelStopsWaiting) {
  FakeServers servers([](int, int64_t) { return kDown; });
  ReplicaSet set({"a"}, {.recover_after_seconds = 0.05, .max_outage_seconds = 60}, nullptr);
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel = true;
  });
  const absl::Status st = set.RunAll(3, 4, servers.Start(), &cancel);
  canceller.join();
  EXPECT_TRUE(absl::IsCancelled(st)) << st;
}

}  // namespace
}  // namespace flywheel::learner
