// What the CUDA kernels share: the block size, the launch shape of element-wise kernels, the one
// block reduction they all use, and the synchronous launch check. Included by .cu files only.
//
// Batch invariance on the GPU rests on BlockReduce: a row is reduced by one block, each thread
// first folds a strided slice (elements t, t + 256, t + 512, ... in increasing order), then the
// 256 partial values combine in a fixed tree. That order depends on the row length alone, never
// on how many rows the launch has or on which block runs when.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace flywheel::kernels::cuda {

// Threads per block for every kernel; a power of two (BlockReduce's tree halves it).
constexpr int kBlockThreads = 256;

// Element-wise kernels loop over their elements in a grid stride, so the grid need not cover n.
// 2^16 blocks of 256 threads keep every SM of an H200 busy many times over.
constexpr int64_t kMaxElementwiseBlocks = 1 << 16;

inline unsigned ElementwiseBlocks(int64_t n) {
  const int64_t blocks = (n + kBlockThreads - 1) / kBlockThreads;
  return static_cast<unsigned>(blocks < kMaxElementwiseBlocks ? blocks : kMaxElementwiseBlocks);
}

// Index of this thread's first element and the stride of the grid, for grid-stride loops.
__device__ inline int64_t GridThread() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline int64_t GridStride() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

struct SumOp {
  __device__ float operator()(float a, float b) const { return a + b; }
};
struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

// Combines one value per thread of a kBlockThreads block: partial[t] = op(partial[t],
// partial[t + s]) for s = 128, 64, ..., 1. Every thread of the block must call it (it
// synchronises) and every thread gets the result.
template <typename Op>
__device__ float BlockReduce(float value, Op op) {
  __shared__ float partial[kBlockThreads];
  partial[threadIdx.x] = value;
  __syncthreads();
  for (int stride = kBlockThreads / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride)
      partial[threadIdx.x] = op(partial[threadIdx.x], partial[threadIdx.x + stride]);
    __syncthreads();
  }
  const float result = partial[0];
  __syncthreads();  // A second call reuses partial: nobody may write it before all have read.
  return result;
}

// After a launch: true when the launch was accepted and the kernel ran to completion. Makes
// every kernel entry point synchronous.
inline bool LaunchSucceeded() {
  return cudaGetLastError() == cudaSuccess && cudaDeviceSynchronize() == cudaSuccess;
}

}  // namespace flywheel::kernels::cuda
