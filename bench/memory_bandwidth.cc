#include "bench/memory_bandwidth.h"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "bench/bench_report.h"
#include "common/base/thread_pool.h"

namespace flywheel::bench {
namespace {

// The sums are stored here so that the compiler cannot drop the loads.
volatile float g_sink = 0;

constexpr int64_t kFloatsPerBlock = 64;  // Two cache lines: the unit the buffer is split in.

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};
using AlignedFloats = std::unique_ptr<float[], FreeDeleter>;

AlignedFloats AllocateFloats(int64_t n) {
  const size_t bytes = static_cast<size_t>(n) * sizeof(float);
  return AlignedFloats(static_cast<float*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64)));
}

// Sums blocks [b0, b1) of 64 floats.
float SumBlocks(const float* p, int64_t b0, int64_t b1) {
#if defined(__AVX2__)
  // Eight independent accumulators: enough loads in flight that the add latency never limits a
  // stream from memory.
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (int64_t b = b0; b < b1; ++b) {
    const float* q = p + b * kFloatsPerBlock;
    a0 = _mm256_add_ps(a0, _mm256_load_ps(q));
    a1 = _mm256_add_ps(a1, _mm256_load_ps(q + 8));
    a2 = _mm256_add_ps(a2, _mm256_load_ps(q + 16));
    a3 = _mm256_add_ps(a3, _mm256_load_ps(q + 24));
    a4 = _mm256_add_ps(a4, _mm256_load_ps(q + 32));
    a5 = _mm256_add_ps(a5, _mm256_load_ps(q + 40));
    a6 = _mm256_add_ps(a6, _mm256_load_ps(q + 48));
    a7 = _mm256_add_ps(a7, _mm256_load_ps(q + 56));
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                           _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, s);
  float total = 0;
  for (float x : lanes) total += x;
  return total;
#else
  float acc[8] = {};
  for (int64_t i = b0 * kFloatsPerBlock; i < b1 * kFloatsPerBlock; i += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += p[i + j];
  }
  float total = 0;
  for (float x : acc) total += x;
  return total;
#endif
}

}  // namespace

double MeasureReadBandwidth(int64_t bytes, int threads, int reps) {
  const int64_t blocks = std::max<int64_t>(1, bytes / (kFloatsPerBlock * sizeof(float)));
  AlignedFloats buf = AllocateFloats(blocks * kFloatsPerBlock);
  ThreadPool pool(threads);
  // Written by the threads that later read it, so every page is really backed (an untouched
  // buffer reads the shared zero page, from cache) and sits near its reader.
  pool.ParallelFor(blocks, [&](int64_t b0, int64_t b1) {
    for (int64_t i = b0 * kFloatsPerBlock; i < b1 * kFloatsPerBlock; ++i) {
      buf[i] = static_cast<float>(i & 1023) * 1e-3f;
    }
  });
  std::vector<float> partial(threads);
  const double seconds = BestSeconds(reps, [&] {
    pool.Run([&](int t) {
      const int64_t b0 = blocks * t / threads;
      const int64_t b1 = blocks * (t + 1) / threads;
      partial[t] = SumBlocks(buf.get(), b0, b1);
    });
    for (float s : partial) g_sink = g_sink + s;
  });
  return static_cast<double>(blocks * kFloatsPerBlock * sizeof(float)) / seconds;
}

double MeasureMemcpyBandwidth(int64_t bytes, int reps) {
  const int64_t n = std::max<int64_t>(kFloatsPerBlock, bytes / sizeof(float));
  AlignedFloats src = AllocateFloats(n);
  AlignedFloats dst = AllocateFloats(n);
  for (int64_t i = 0; i < n; ++i) src[i] = static_cast<float>(i & 1023);
  std::memset(dst.get(), 0, n * sizeof(float));
  const double seconds = BestSeconds(reps, [&] {
    std::memcpy(dst.get(), src.get(), n * sizeof(float));
    g_sink = g_sink + dst[n / 2];
  });
  return static_cast<double>(n * sizeof(float)) / seconds;
}

}  // namespace flywheel::bench
