// The launch-shape arithmetic of the CUDA kernels: block size, grid sizes and the grid-stride
// index walk. Plain C++ with no CUDA include, so the host-side tests (kernels_cuda_host_test) can
// check it on machines without nvcc or a GPU; launch.cuh includes it for the kernels.
#pragma once

#include <cstdint>

// Functions both the kernels and the host tests call.
#if defined(__CUDACC__)
#define FLYWHEEL_HOST_DEVICE __host__ __device__
#else
#define FLYWHEEL_HOST_DEVICE
#endif

namespace flywheel::kernels::cuda {

// Threads per block for every kernel; a power of two (BlockReduce's tree halves it).
inline constexpr int kBlockThreads = 256;

// Element-wise kernels loop over their elements in a grid stride, so the grid need not cover n.
// 2^16 blocks of 256 threads keep every SM of an H200 busy many times over.
inline constexpr int64_t kMaxElementwiseBlocks = int64_t{1} << 16;

// Blocks of an element-wise launch over n elements: enough to give each element its own thread,
// at most kMaxElementwiseBlocks; 0 when n <= 0 (callers return before launching).
constexpr unsigned ElementwiseBlocks(int64_t n) {
  if (n <= 0) return 0;
  const int64_t blocks = n / kBlockThreads + (n % kBlockThreads != 0);
  return static_cast<unsigned>(blocks < kMaxElementwiseBlocks ? blocks : kMaxElementwiseBlocks);
}

// The grid-stride walk: thread `thread` of block `block` takes elements start, start + step, ...
// below n. With ElementwiseBlocks(n) blocks every element has exactly one thread.
FLYWHEEL_HOST_DEVICE constexpr int64_t GridStrideStart(unsigned block, unsigned thread) {
  return static_cast<int64_t>(block) * kBlockThreads + thread;
}
FLYWHEEL_HOST_DEVICE constexpr int64_t GridStrideStep(unsigned blocks) {
  return static_cast<int64_t>(blocks) * kBlockThreads;
}

// Gradient-norm chunks: one block sums the squares of one chunk, then one thread adds the
// chunks' partial sums in chunk order. The chunk size is cpu/adamw.cc's, so both paths cut the
// parameters at the same places, and it is fixed, so the order depends on n alone.
inline constexpr int64_t kNormChunk = int64_t{1} << 14;

constexpr int64_t NormChunks(int64_t n) {
  return n <= 0 ? 0 : n / kNormChunk + (n % kNormChunk != 0);
}

// The largest grid.x a launch accepts (2^31 - 1): one block per row or per chunk must fit.
inline constexpr int64_t kMaxGridX = (int64_t{1} << 31) - 1;

}  // namespace flywheel::kernels::cuda
