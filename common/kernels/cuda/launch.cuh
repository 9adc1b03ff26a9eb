// What the CUDA kernels share: the launch shape (launch_shape.h, host-testable), the one
// block reduction they all use, and the synchronous launch check. Included by .cu files only.
//
// Batch invariance on the GPU rests on BlockReduce: a row is reduced by one block, each thread
// first folds a strided slice (elements t, t + 256, t + 512, ... in increasing order), then the
// 256 partial values combine in a fixed tree. That order depends on the row length alone, never
// on how many rows the launch has or on which block runs when.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "common/kernels/cuda/launch_shape.h"

namespace flywheel::kernels::cuda {

// Index of this thread's first element and the stride of the grid, for grid-stride loops
// (launch_shape.h's walk, which the host tests check).
__device__ inline int64_t GridThread() { return GridStrideStart(blockIdx.x, threadIdx.x); }
__device__ inline int64_t GridStride() { return GridStrideStep(gridDim.x); }

struct SumOp {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    return a + b;
  }
};
struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

// Combines one value per thread of a kBlockThreads block: partial[t] = op(partial[t],
// partial[t + s]) for s = 128, 64, ..., 1. Every thread of the block must call it (it
// synchronises) and every thread gets the result.
template <typename T, typename Op>
__device__ T BlockReduce(T value, Op op) {
  __shared__ T partial[kBlockThreads];
  partial[threadIdx.x] = value;
  __syncthreads();
  for (int stride = kBlockThreads / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride)
      partial[threadIdx.x] = op(partial[threadIdx.x], partial[threadIdx.x + stride]);
    __syncthreads();
  }
  const T result = partial[0];
  __syncthreads();  // A second call reuses partial: nobody may write it before all have read.
  return result;
}

// n elements of T in device memory for one entry point's intermediate results, freed on
// destruction; get() is null when the allocation failed. Not copyable.
template <typename T>
class DeviceScratch {
 public:
  explicit DeviceScratch(int64_t n) {
    if (cudaMalloc(&ptr_, static_cast<size_t>(n) * sizeof(T)) != cudaSuccess) ptr_ = nullptr;
  }
  ~DeviceScratch() { cudaFree(ptr_); }
  DeviceScratch(const DeviceScratch&) = delete;
  DeviceScratch& operator=(const DeviceScratch&) = delete;
  T* get() const { return ptr_; }

 private:
  T* ptr_ = nullptr;
};

// Copies one T from device memory to *host; false if the copy fails.
template <typename T>
bool CopyToHost(T* host, const T* device) {
  return cudaMemcpy(host, device, sizeof(T), cudaMemcpyDeviceToHost) == cudaSuccess;
}

// After a launch: true when the launch was accepted and the kernel ran to completion. Makes
// every kernel entry point synchronous.
inline bool LaunchSucceeded() {
  return cudaGetLastError() == cudaSuccess && cudaDeviceSynchronize() == cudaSuccess;
}

}  // namespace flywheel::kernels::cuda
