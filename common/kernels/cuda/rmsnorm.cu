#include <cuda_runtime.h>

#include "common/kernels/cuda/rmsnorm.h"

namespace flywheel::kernels::cuda {
namespace {

constexpr int kThreads = 256;

// One block per row: each thread sums a strided slice of x², then a fixed shared-memory tree
// combines the partial sums. The order depends only on C, never on N.
__global__ void RmsnormKernel(float* out, float* rstd, const float* inp, const float* weight,
                              float eps, int64_t C) {
  __shared__ float partial[kThreads];
  const float* x = inp + blockIdx.x * C;
  float sum = 0.0f;
  for (int64_t i = threadIdx.x; i < C; i += kThreads) sum = fmaf(x[i], x[i], sum);
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  const float r = 1.0f / sqrtf(partial[0] / static_cast<float>(C) + eps);
  if (threadIdx.x == 0 && rstd != nullptr) rstd[blockIdx.x] = r;
  float* y = out + blockIdx.x * C;
  for (int64_t i = threadIdx.x; i < C; i += kThreads) y[i] = (x[i] * r) * weight[i];
}

}  // namespace

bool rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, float eps,
                     int64_t N, int64_t C) {
  if (N <= 0) return true;
  RmsnormKernel<<<static_cast<unsigned>(N), kThreads>>>(out, rstd, inp, weight, eps, C);
  return cudaGetLastError() == cudaSuccess && cudaDeviceSynchronize() == cudaSuccess;
}

}  // namespace flywheel::kernels::cuda
