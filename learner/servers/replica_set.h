// A set of interchangeable servers (rollout or reward replicas) and the dispatch of independent
// calls over them: each call goes to the healthy server with the fewest calls in flight; a call
// that fails with a transient status (unavailable, deadline, cancelled by the server, internal,
// resource exhausted) marks its server down and runs again on another one, so a dead replica costs
// a retry, never a lost or duplicated result. Each task's result is written by its own call's
// callback, and a task is finished exactly once: by its first successful call.
//
// Membership can change while calls run: Add appends a server (indices are never reused), Remove
// retires one for good (its calls in flight finish or fail as usual; none start there again).
//
// A server marked down is tried again after a backoff that doubles with each consecutive failure
// (recover_after_seconds, 2x, 4x, ... up to max_recover_seconds). When every server is down the
// calls wait for the next one to come back, for at most max_outage_seconds in a row; then RunAll
// fails cleanly. A call refused with UNAVAILABLE (nothing listening) never ran, so it does not
// count towards a task's attempts; the other transient failures do (a request that breaks every
// server must not be retried forever).
//
// Thread safety: all methods are thread-safe; RunAll may run concurrently with itself and with
// Add / Remove / MarkUp / MarkDown from other threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace flywheel::learner {

class ReplicaSet {
 public:
  // Called with a line for humans when a server goes down or comes back.
  using EventFn = std::function<void(const std::string& message)>;
  // Starts one asynchronous call of task `task` on server `server`; `done` must be called exactly
  // once, from any thread, with the call's status.
  using StartFn =
      std::function<void(int server, int64_t task, std::function<void(const grpc::Status&)> done)>;

  struct Options {
    std::string kind = "server";  // names the servers in messages ("rollout server")
    // Backoff of a server marked down (see above); negative: it stays down until MarkUp.
    double recover_after_seconds = -1;
    double max_recover_seconds = 10;
    // How long RunAll waits in a row while every server is down before failing.
    double max_outage_seconds = 300;
  };

  ReplicaSet(std::vector<std::string> addresses, Options options, EventFn on_event);

  // Servers ever added (retired ones included); indices run 0..size()-1.
  int size() const;
  std::string address(int server) const;
  bool healthy(int server) const;
  // Added and not removed.
  bool member(int server) const;
  // Down until MarkUp (not merely waiting out recover_after_seconds).
  bool down_until_up(int server) const;
  // Healthy members now.
  int healthy_count() const;
  void MarkDown(int server, const grpc::Status& why);
  void MarkUp(int server);
  // Appends a server, down until MarkUp unless `up`; its index.
  int Add(const std::string& address, bool up);
  // Retires a server for good; `why` is told (when not empty).
  void Remove(int server, const std::string& why);
  // Wait up to this long for a member when none is healthy before RunAll gives up (elastic
  // pools, whose servers may join later). Default 0.
  void set_wait_for_members_seconds(double seconds) { wait_for_members_seconds_ = seconds; }
  // Calls that were retried on another server, since construction.
  int64_t retries() const { return retries_.load(); }

  // Runs tasks 0..n-1 and returns when each has succeeded once. At most max_inflight calls per
  // server at a time. Errors: the first non-transient call failure, or a task's last failure once
  // it has used its attempts (tasks still in flight are waited for); Unavailable when no server
  // is left to come back, or every server has been down for max_outage_seconds; Cancelled when
  // *cancel turns true.
  absl::Status RunAll(int64_t n, int max_inflight, const StartFn& start,
                      const std::atomic<bool>* cancel);

  // True for statuses worth retrying on another replica.
  static bool Transient(const grpc::Status& status);

 private:
  using Clock = std::chrono::steady_clock;
  bool HealthyLocked(int server) const;

  const Options options_;
  const EventFn on_event_;
  std::atomic<double> wait_for_members_seconds_{0};
  mutable std::mutex mu_;
  std::vector<std::string> addresses_;         // guarded by mu_
  std::vector<Clock::time_point> down_until_;  // Clock::time_point::max(): until MarkUp.
  std::vector<bool> down_;                     // guarded by mu_
  std::vector<bool> removed_;                  // guarded by mu_
  std::vector<int> failures_;  // guarded by mu_; consecutive failures, for the backoff
  std::vector<int> inflight_;  // guarded by mu_
  std::atomic<int64_t> retries_{0};
};

}  // namespace flywheel::learner
