#include "common/base/thread_pool.h"

#include <chrono>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace flywheel {
namespace {

// Set while a thread executes a job, so that a nested Run() runs inline instead of deadlocking.
thread_local bool t_inside_job = false;

inline void CpuRelax() {
#if defined(__x86_64__)
  _mm_pause();
#endif
}

// How long a waiter spins on an atomic before it blocks. Long enough to cover the gap between
// two kernels of one forward pass, short enough that an idle pool sleeps quickly.
constexpr auto kSpinBudget = std::chrono::microseconds(200);
// Pauses between checks of the clock; after each round the waiter also yields its core, so on an
// oversubscribed machine (more runnable threads than cores) the thread it waits for can run.
constexpr int kPausesPerRound = 64;

// Waits until value != seen: spin with pause + yield for up to kSpinBudget, then block.
template <typename T>
T AwaitChange(const std::atomic<T>& value, T seen) {
  T now;
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    for (int i = 0; i < kPausesPerRound; ++i) {
      if ((now = value.load(std::memory_order_acquire)) != seen) return now;
      CpuRelax();
    }
    if (std::chrono::steady_clock::now() - start > kSpinBudget) break;
    std::this_thread::yield();
  }
  while ((now = value.load(std::memory_order_acquire)) == seen)
    value.wait(seen, std::memory_order_acquire);
  return now;
}

}  // namespace

ThreadPool::ThreadPool(int num_threads) : num_threads_(num_threads < 1 ? 1 : num_threads) {
  workers_.reserve(num_threads_ - 1);
  for (int i = 1; i < num_threads_; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  generation_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::WorkerLoop(int index) {
  uint64_t seen = 0;
  for (;;) {
    seen = AwaitChange(generation_, seen);
    if (stop_.load(std::memory_order_acquire)) return;
    t_inside_job = true;
    (*job_)(index);
    t_inside_job = false;
    // Every decrement notifies: the caller may be blocked waiting for any change of the count.
    pending_.fetch_sub(1, std::memory_order_acq_rel);
    pending_.notify_one();
  }
}

void ThreadPool::Run(const std::function<void(int)>& fn) {
  if (num_threads_ == 1 || t_inside_job) {
    // Inline: a single-threaded pool, or a nested call from inside a job.
    for (int i = 0; i < num_threads_; ++i) fn(i);
    return;
  }
  std::lock_guard<std::mutex> lock(run_mu_);
  job_ = &fn;
  pending_.store(num_threads_ - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  generation_.notify_all();
  t_inside_job = true;
  fn(0);
  t_inside_job = false;
  for (int left = pending_.load(std::memory_order_acquire); left != 0;)
    left = AwaitChange(pending_, left);
  job_ = nullptr;
}

void ThreadPool::ParallelFor(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  const int64_t parts = num_threads_;
  Run([&](int i) {
    int64_t begin = n * i / parts;
    int64_t end = n * (i + 1) / parts;
    if (begin < end) fn(begin, end);
  });
}

void ParallelFor(ThreadPool* pool, int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (pool == nullptr) {
    if (n > 0) fn(0, n);
    return;
  }
  pool->ParallelFor(n, fn);
}

}  // namespace flywheel
