#include "common/kernels/cuda/embedding.h"
#include "common/kernels/cuda/launch.cuh"

namespace flywheel::kernels::cuda {
namespace {

// One block per output row, its threads copying the token's row of wte. Nothing is reduced.
__global__ void EmbeddingForwardKernel(float* out, const int32_t* tokens, const float* wte,
                                       int64_t C) {
  const float* src = wte + static_cast<int64_t>(tokens[blockIdx.x]) * C;
  float* dst = out + static_cast<int64_t>(blockIdx.x) * C;
  for (int64_t i = threadIdx.x; i < C; i += kBlockThreads) dst[i] = src[i];
}

}  // namespace

bool embedding_forward(float* out, const int32_t* tokens, const float* wte, int64_t N, int64_t C) {
  if (N <= 0) return true;
  EmbeddingForwardKernel<<<static_cast<unsigned>(N), kBlockThreads>>>(out, tokens, wte, C);
  return LaunchSucceeded();
}

}  // namespace flywheel::kernels::cuda
