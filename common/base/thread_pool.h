// A persistent pool of worker threads for the numeric kernels.
//
// Kernels call Run() hundreds of times per forward pass, so dispatch must be cheap: workers spin on
// an atomic generation counter (a condition-variable round trip per op measured ~45x slower than a
// spin barrier on these machines) and the caller spins on the pending count. Both yield their core
// between short spin rounds and block on the atomic after ~200 us, so an idle pool does not burn a
// core and an oversubscribed machine (CI running tests in parallel) does not stall on spinners.
//
// Work is split over output elements only; which thread computes an element never changes the
// order of any reduction, so results are bitwise independent of the thread count.
//
// Thread safety: Run() and ParallelFor() may be called from any thread, but calls are serialised
// (one job at a time). A call made from inside a job runs inline on the calling worker.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace flywheel {

class ThreadPool {
 public:
  // num_threads counts the calling thread too: ThreadPool(1) has no workers and runs inline.
  // Values < 1 are treated as 1.
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }

  // Runs fn(thread_index) for thread_index in [0, num_threads()), the caller taking index 0.
  // Returns when every call has returned.
  void Run(const std::function<void(int)>& fn);

  // Splits [0, n) into num_threads() contiguous ranges (some may be empty) and calls
  // fn(begin, end) for each non-empty one, in parallel.
  void ParallelFor(int64_t n, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void WorkerLoop(int index);

  const int num_threads_;
  std::vector<std::thread> workers_;
  std::mutex run_mu_;  // Serialises jobs: the pool runs one job at a time.
  const std::function<void(int)>* job_ = nullptr;  // Published by the release store to generation_.
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
};

// Runs fn(begin, end) over [0, n) on `pool`, or inline over the whole range when pool is null.
void ParallelFor(ThreadPool* pool, int64_t n, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace flywheel
