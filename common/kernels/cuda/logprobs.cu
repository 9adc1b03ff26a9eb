#include "common/kernels/cuda/launch.cuh"
#include "common/kernels/cuda/logprobs.h"

namespace flywheel::kernels::cuda {
namespace {

// One block per row. The max, S = Σ exp(x - max) and (for the entropy) A = Σ exp(x - max)·(x -
// max) are each reduced in BlockReduce's fixed order, which depends on V only. Then, as on the
// CPU, log p_t = (x_t - max) - log S, lse = max + log S and H = log S - A / S, the scalar steps in
// double, rounded once.
__global__ void LogprobsForwardKernel(float* logprobs, float* entropy, float* lse,
                                      const float* logits, const int32_t* targets, int64_t V) {
  const int64_t n = blockIdx.x;
  const float* x = logits + n * V;
  float max = -INFINITY;
  for (int64_t i = threadIdx.x; i < V; i += kBlockThreads) max = fmaxf(max, x[i]);
  max = BlockReduce(max, MaxOp());
  float sum = 0.0f;
  float weighted = 0.0f;
  for (int64_t i = threadIdx.x; i < V; i += kBlockThreads) {
    const float d = x[i] - max;
    const float e = expf(d);
    sum += e;
    weighted = fmaf(e, d, weighted);
  }
  sum = BlockReduce(sum, SumOp());
  // entropy is the same pointer for the whole block, so every thread takes the same branch.
  if (entropy != nullptr) weighted = BlockReduce(weighted, SumOp());
  if (threadIdx.x != 0) return;
  const double log_sum = log(static_cast<double>(sum));
  const double m = max;
  logprobs[n] = static_cast<float>((x[targets[n]] - m) - log_sum);
  if (lse != nullptr) lse[n] = static_cast<float>(m + log_sum);
  if (entropy != nullptr) {
    entropy[n] = static_cast<float>(log_sum - static_cast<double>(weighted) / sum);
  }
}

// Element-wise over (N, V) in a grid stride, the CPU's formulas in its order (p = exp(x - lse)):
//   dentropy[n] != 0: dx = (0 - p) · (g + ge · ((x - lse) + H));   otherwise dx = p · (-g);
// then g is added at the target (the CPU's dx[t] += g after the row). Masked rows (g = ge = 0)
// are written as +0 without an exp, as on the CPU.
__global__ void LogprobsBackwardKernel(float* dlogits, const float* dlogprobs,
                                       const float* dentropy, const float* logits, const float* lse,
                                       const float* entropy, const int32_t* targets, int64_t N,
                                       int64_t V) {
  for (int64_t k = GridThread(); k < N * V; k += GridStride()) {
    const int64_t n = k / V;
    const float g = dlogprobs[n];
    const float ge = dentropy != nullptr ? dentropy[n] : 0.0f;
    if (g == 0.0f && ge == 0.0f) {
      dlogits[k] = 0.0f;
      continue;
    }
    const float lp = logits[k] - lse[n];
    const float p = expf(lp);
    float dx = ge != 0.0f ? (0.0f - p) * (g + ge * (lp + entropy[n])) : p * (-g);
    if (k - n * V == targets[n]) dx = dx + g;
    dlogits[k] = dx;
  }
}

}  // namespace

bool logprobs_forward(float* logprobs, float* entropy, float* lse, const float* logits,
                      const int32_t* targets, int64_t N, int64_t V) {
  if (N <= 0) return true;
  LogprobsForwardKernel<<<static_cast<unsigned>(N), kBlockThreads>>>(logprobs, entropy, lse, logits,
                                                                     targets, V);
  return LaunchSucceeded();
}

bool logprobs_backward(float* dlogits, const float* dlogprobs, const float* dentropy,
                       const float* logits, const float* lse, const float* entropy,
                       const int32_t* targets, int64_t N, int64_t V) {
  if (N <= 0 || V <= 0) return true;
  LogprobsBackwardKernel<<<ElementwiseBlocks(N * V), kBlockThreads>>>(
      dlogits, dlogprobs, dentropy, logits, lse, entropy, targets, N, V);
  return LaunchSucceeded();
}

}  // namespace flywheel::kernels::cuda
