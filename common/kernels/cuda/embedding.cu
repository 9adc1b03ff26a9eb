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

// One thread per column c, walking the tokens in order n = 0..N-1 and adding dout[n, c] into
// dwte[tokens[n], c]. A repeated token adds into one row; float atomics would add its rows in
// whatever order the threads arrive, so instead every element of dwte has exactly one writer (the
// thread of its column), which adds in n order: the CPU's operations in the CPU's order. The
// threads of a warp take neighbouring columns, so each step reads and writes coalesced rows.
__global__ void EmbeddingBackwardKernel(float* dwte, const float* dout, const int32_t* tokens,
                                        int64_t N, int64_t C) {
  for (int64_t c = GridThread(); c < C; c += GridStride()) {
    for (int64_t n = 0; n < N; ++n) {
      float* w = dwte + static_cast<int64_t>(tokens[n]) * C + c;
      *w = *w + dout[n * C + c];
    }
  }
}

}  // namespace

bool embedding_backward(float* dwte, const float* dout, const int32_t* tokens, int64_t N,
                        int64_t C) {
  if (N <= 0 || C <= 0) return true;
  EmbeddingBackwardKernel<<<ElementwiseBlocks(C), kBlockThreads>>>(dwte, dout, tokens, N, C);
  return LaunchSucceeded();
}

bool embedding_forward(float* out, const int32_t* tokens, const float* wte, int64_t N, int64_t C) {
  if (N <= 0) return true;
  EmbeddingForwardKernel<<<static_cast<unsigned>(N), kBlockThreads>>>(out, tokens, wte, C);
  return LaunchSucceeded();
}

}  // namespace flywheel::kernels::cuda
