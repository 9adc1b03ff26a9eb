#include "common/base/thread_pool.h"

#include <atomic>
#include <numeric>
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

}  // namespace
}  // namespace flywheel
