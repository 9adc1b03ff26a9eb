// The asynchronous half of an RL job: a thread that produces the batch of each step in order, as
// soon as the weights it may be sampled with are on the rollout servers. With max_async_steps A
// the batch of step s may start once the policy of step s - 1 - A has been pushed, so sampling
// runs up to A steps ahead of the learner's updates (A = 0: strictly on-policy, one batch at a
// time).
//
// The job decides when weights are pushed. In the exact mode it pushes the policy of step v only
// after WaitProduced(v + A) (the last batch that the policy of step v - 1 samples), so every batch
// is sampled with exactly one policy; in the in-flight mode it pushes at once.
//
// Thread safety: Take, WaitProduced, Pushed and Stop are called from the job's thread; `produce`
// runs on the producer's own thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "absl/status/statusor.h"
#include "learner/jobs/rollout_batch.h"

namespace flywheel::learner {

class BatchProducer {
 public:
  // Produces the batch of one step; `cancel` turns true when the producer stops.
  using ProduceFn =
      std::function<absl::StatusOr<Batch>(int64_t step, const std::atomic<bool>* cancel)>;

  // Starts producing steps first..last. pushed_step: the step whose policy is on the servers now.
  BatchProducer(int64_t first, int64_t last, int64_t max_async_steps, int64_t pushed_step,
                ProduceFn produce);
  // Stop() and join.
  ~BatchProducer();
  BatchProducer(const BatchProducer&) = delete;
  BatchProducer& operator=(const BatchProducer&) = delete;

  // The batch of `step`, waiting for it (steps must be taken in order). Cancelled when *abort
  // turns true first (checked every 100 ms); a failed production is returned as its error, and
  // the producer produces nothing after it.
  absl::StatusOr<Batch> Take(int64_t step, const std::atomic<bool>* abort);
  // Waits until the production of every step up to `step` (or the last step, if smaller) has
  // ended, successfully or not (a failure is reported by Take). Cancelled when *abort turns true
  // first; OK at once when production has stopped.
  absl::Status WaitProduced(int64_t step, const std::atomic<bool>* abort);
  // The policy of `step` is on the rollout servers: batches waiting for it may start.
  void Pushed(int64_t step);
  // Ends production: a batch in progress is cancelled. Idempotent.
  void Stop();

 private:
  void Run(int64_t first, int64_t last);

  const int64_t max_async_steps_;
  const int64_t last_;
  const ProduceFn produce_;
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t pushed_step_;       // guarded by mu_
  bool stop_ = false;         // guarded by mu_
  bool ended_ = false;        // the thread has returned; guarded by mu_
  int64_t produced_through_;  // every step <= this one is produced; guarded by mu_
  std::map<int64_t, absl::StatusOr<Batch>> ready_;  // guarded by mu_
  std::atomic<bool> cancel_{false};
  std::thread thread_;
};

}  // namespace flywheel::learner
