#include "common/base/thread_pool.h"

#include <atomic>
#include <numeric>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace flywheel {
namespace {

TEST(ThreadPoolTest, RunCallsEveryIndexOnce) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    std::vector<std::atomic<int>> hits(threads);
    for (int rep = 0; rep < 1000; ++rep) pool.Run([&](int i) { hits[i].fetch_add(1); });
    for (int i = 0; i < threads; ++i) EXPECT_EQ(hits[i].load(), 1000) << "thread " << i;
  }
}

TEST(ThreadPoolTest, ParallelForCoversRangeExactlyOnce) {
  ThreadPool pool(3);
  for (int64_t n : {0, 1, 2, 3, 7, 1000}) {
    std::vector<int> seen(n, 0);
    pool.ParallelFor(n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) seen[i]++;
    });
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(seen[i], 1) << "n=" << n << " i=" << i;
  }
}

TEST(ThreadPoolTest, NestedRunExecutesInline) {
  ThreadPool pool(2);
  std::atomic<int> inner{0};
  pool.Run([&](int) { pool.Run([&](int) { inner.fetch_add(1); }); });
  EXPECT_EQ(inner.load(), 4);  // Each of the 2 outer calls runs both inner indices inline.
}

TEST(ThreadPoolTest, WorkersWakeAfterSleeping) {
  ThreadPool pool(2);
  std::atomic<int> count{0};
  pool.Run([&](int) { count++; });
  std::this_thread::sleep_for(
      std::chrono::milliseconds(20));  // Past the spin budget: workers block.
  pool.Run([&](int) { count++; });
  EXPECT_EQ(count.load(), 4);
}

TEST(ThreadPoolTest, NullPoolRunsInline) {
  int64_t total = 0;
  ParallelFor(nullptr, 10, [&](int64_t b, int64_t e) { total += e - b; });
  EXPECT_EQ(total, 10);
}

// Two learner jobs computing at once share one pool: Run() from two threads at the same time must
// neither deadlock nor mix their jobs. Each caller fills its own buffer with ParallelFor many
// times; every element must hold its own caller's value.
TEST(ThreadPoolTest, ConcurrentCallersEachGetTheirOwnJob) {
  ThreadPool pool(3);
  constexpr int kRounds = 2000;
  constexpr int64_t kN = 257;
  auto caller = [&](int id, std::vector<int>* out) {
    for (int round = 0; round < kRounds; ++round) {
      pool.ParallelFor(kN, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) (*out)[i] = id * kRounds + round;
      });
      for (int64_t i = 0; i < kN; ++i) {
        if ((*out)[i] != id * kRounds + round) {
          ADD_FAILURE() << "caller " << id << " round " << round << " element " << i;
          return;
        }
      }
    }
  };
  std::vector<int> a(kN, -1), b(kN, -1);
  std::thread ta(caller, 1, &a), tb(caller, 2, &b);
  ta.join();
  tb.join();
}

}  // namespace
}  // namespace flywheel
