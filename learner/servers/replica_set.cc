#include "learner/servers/replica_set.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <limits>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/rpc/status.h"

namespace flywheel::learner {

ReplicaSet::ReplicaSet(std::vector<std::string> addresses, Options options, EventFn on_event)
    : options_(std::move(options)),
      on_event_(std::move(on_event)),
      addresses_(std::move(addresses)),
      down_until_(addresses_.size()),
      down_(addresses_.size(), false),
      removed_(addresses_.size(), false),
      failures_(addresses_.size(), 0),
      inflight_(addresses_.size(), 0) {}

int ReplicaSet::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(addresses_.size());
}

std::string ReplicaSet::address(int server) const {
  std::lock_guard<std::mutex> lock(mu_);
  return addresses_[server];
}

bool ReplicaSet::member(int server) const {
  std::lock_guard<std::mutex> lock(mu_);
  return !removed_[server];
}

bool ReplicaSet::down_until_up(int server) const {
  std::lock_guard<std::mutex> lock(mu_);
  return !removed_[server] && down_[server] && down_until_[server] == Clock::time_point::max();
}

int ReplicaSet::healthy_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (size_t s = 0; s < addresses_.size(); ++s) n += HealthyLocked(static_cast<int>(s)) ? 1 : 0;
  return n;
}

int ReplicaSet::Add(const std::string& address, bool up) {
  std::lock_guard<std::mutex> lock(mu_);
  addresses_.push_back(address);
  down_.push_back(!up);
  down_until_.push_back(up ? Clock::time_point() : Clock::time_point::max());
  removed_.push_back(false);
  failures_.push_back(0);
  inflight_.push_back(0);
  return static_cast<int>(addresses_.size()) - 1;
}

void ReplicaSet::Remove(int server, const std::string& why) {
  std::string address;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (removed_[server]) return;
    removed_[server] = true;
    address = addresses_[server];
  }
  if (!why.empty() && on_event_) on_event_(absl::StrCat(options_.kind, " ", address, " ", why));
}

bool ReplicaSet::Transient(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return true;
    default:
      return false;
  }
}

bool ReplicaSet::HealthyLocked(int server) const {
  if (removed_[server]) return false;
  return !down_[server] || Clock::now() >= down_until_[server];
}

bool ReplicaSet::healthy(int server) const {
  std::lock_guard<std::mutex> lock(mu_);
  return HealthyLocked(server);
}

void ReplicaSet::MarkDown(int server, const grpc::Status& why) {
  bool was_up;
  std::string address;
  {
    std::lock_guard<std::mutex> lock(mu_);
    was_up = HealthyLocked(server);
    address = addresses_[server];
    down_[server] = true;
    const int failures = failures_[server]++;
    const double backoff =
        std::min(options_.recover_after_seconds * std::pow(2.0, std::min(failures, 30)),
                 std::max(options_.max_recover_seconds, options_.recover_after_seconds));
    down_until_[server] = options_.recover_after_seconds < 0
                              ? Clock::time_point::max()
                              : Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                   std::chrono::duration<double>(backoff));
  }
  if (was_up && on_event_) {
    on_event_(absl::StrCat(options_.kind, " ", address, " failed (", rpc::FromGrpc(why).ToString(),
                           "); using the others"));
  }
}

void ReplicaSet::MarkUp(int server) {
  bool was_down;
  std::string address;
  {
    std::lock_guard<std::mutex> lock(mu_);
    was_down = down_[server] && !removed_[server];
    down_[server] = false;
    address = addresses_[server];
    failures_[server] = 0;
  }
  if (was_down && on_event_) on_event_(absl::StrCat(options_.kind, " ", address, " is back"));
}

absl::Status ReplicaSet::RunAll(int64_t n, int max_inflight, const StartFn& start,
                                const std::atomic<bool>* cancel) {
  struct Run {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<int64_t> pending;
    std::vector<int> attempts;
    int64_t finished = 0;
    int running = 0;
    absl::Status error;
  };
  auto run = std::make_shared<Run>();
  for (int64_t i = 0; i < n; ++i) run->pending.push_back(i);
  run->attempts.assign(n, 0);
  // A task that fails this often on transient errors gives up: every replica was tried twice.
  const int max_attempts = std::max(3, 2 * size());
  // An elastic pool with no healthy member waits this long for one to join.
  const Clock::time_point wait_for_members_until =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(wait_for_members_seconds_.load()));
  // When every server went down (max(): some server is healthy); for max_outage_seconds.
  Clock::time_point outage_since = Clock::time_point::max();

  std::unique_lock<std::mutex> lock(run->mu);
  while (true) {
    if (cancel != nullptr && cancel->load() && run->error.ok()) {
      run->error = absl::CancelledError("cancelled");
    }
    if (!run->error.ok() || run->finished == n) {
      if (run->running == 0) return run->error;
      run->cv.wait(lock);
      continue;
    }
    // Dispatch what the servers have room for.
    Clock::time_point next_recovery = Clock::time_point::max();
    bool any_healthy = false;
    while (!run->pending.empty()) {
      int best = -1;
      {
        std::lock_guard<std::mutex> servers(mu_);
        for (int s = 0; s < static_cast<int>(addresses_.size()); ++s) {
          if (removed_[s]) continue;
          if (!HealthyLocked(s)) {
            next_recovery = std::min(next_recovery, down_until_[s]);
            continue;
          }
          any_healthy = true;
          if (inflight_[s] < max_inflight && (best < 0 || inflight_[s] < inflight_[best])) {
            best = s;
          }
        }
        if (best >= 0) ++inflight_[best];
      }
      if (best < 0) break;
      const int64_t task = run->pending.front();
      run->pending.pop_front();
      ++run->running;
      ++run->attempts[task];
      lock.unlock();
      start(best, task, [this, run, best, task, max_attempts](const grpc::Status& status) {
        {
          std::lock_guard<std::mutex> servers(mu_);
          --inflight_[best];
        }
        // A success ends a server's backoff ("is back" after an outage). Not for servers that
        // stay down until MarkUp: a call begun before one missed a push proves nothing.
        if (status.ok() && options_.recover_after_seconds >= 0) MarkUp(best);
        const bool transient = !status.ok() && Transient(status);
        if (transient) MarkDown(best, status);
        std::lock_guard<std::mutex> l(run->mu);
        --run->running;
        // Refused before it ran (nothing listening): not an attempt of the task.
        if (status.error_code() == grpc::StatusCode::UNAVAILABLE) --run->attempts[task];
        if (status.ok()) {
          ++run->finished;
        } else if (transient && run->attempts[task] < max_attempts) {
          run->pending.push_back(task);
          retries_.fetch_add(1);
        } else if (run->error.ok()) {
          absl::Status s = rpc::FromGrpc(status);
          run->error = absl::Status(
              s.code(), absl::StrCat(options_.kind, " ", address(best), ": ", s.message()));
        }
        run->cv.notify_all();
      });
      lock.lock();
    }
    if (any_healthy) outage_since = Clock::time_point::max();
    if (!run->pending.empty() && !any_healthy && run->running == 0) {
      const auto now = Clock::now();
      if (outage_since == Clock::time_point::max()) outage_since = now;
      const auto give_up =
          outage_since + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(options_.max_outage_seconds));
      if (next_recovery == Clock::time_point::max() && now < wait_for_members_until) {
        // Members may join (or a down one be brought back); look again shortly.
        next_recovery = std::min(wait_for_members_until, now + std::chrono::milliseconds(100));
      }
      if (next_recovery == Clock::time_point::max() || now >= give_up) {
        run->error = absl::UnavailableError(
            next_recovery == Clock::time_point::max()
                ? absl::StrCat("every ", options_.kind, " has failed")
                : absl::StrCat("every ", options_.kind, " has been down for ",
                               options_.max_outage_seconds, " s; giving up"));
        continue;
      }
      // Wake for the next recovery, the give-up time, or a cancellation check.
      run->cv.wait_until(lock,
                         std::min({next_recovery, give_up, now + std::chrono::milliseconds(100)}));
      continue;
    }
    // Woken by a finished call; the timeout re-checks cancellation.
    run->cv.wait_for(lock, std::chrono::milliseconds(100));
  }
}

}  // namespace flywheel::learner
