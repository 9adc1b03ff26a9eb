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

// How long a worker spins on the generation counter before it blocks. Long enough to cover the
// gap between two kernels of one forward pass, short enough that an idle pool sleeps quickly.
constexpr auto kSpinBudget = std::chrono::microseconds(200);

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
    uint64_t gen = generation_.load(std::memory_order_acquire);
    if (gen == seen) {
      auto start = std::chrono::steady_clock::now();
      int spins = 0;
      while ((gen = generation_.load(std::memory_order_acquire)) == seen) {
        CpuRelax();
        if (++spins % 256 == 0 && std::chrono::steady_clock::now() - start > kSpinBudget) {
          generation_.wait(seen, std::memory_order_acquire);
        }
      }
    }
    seen = gen;
    if (stop_.load(std::memory_order_acquire)) return;
    t_inside_job = true;
    (*job_)(index);
    t_inside_job = false;
    pending_.fetch_sub(1, std::memory_order_acq_rel);
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
  while (pending_.load(std::memory_order_acquire) != 0) CpuRelax();
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
