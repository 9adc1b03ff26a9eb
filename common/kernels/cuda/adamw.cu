#include <cmath>

#include "common/kernels/cuda/adamw.h"
#include "common/kernels/cuda/launch.cuh"

namespace flywheel::kernels::cuda {
namespace {

// The per-step scalars of cpu/adamw.cc's adamw_update, rounded to float once.
struct AdamWCoefficients {
  float decay;     // 1 - lr·wd
  float w1;        // 1 - beta1
  float beta2;     //
  float c2;        // 1 - beta2
  float bc2_sqrt;  // sqrt(1 - beta2^step)
  float eps;
  float neg_step;  // -lr / (1 - beta1^step)
};

// Element-wise in a grid stride; nothing is reduced. torch.optim.AdamW's operations as the CPU
// writes them: p·decay; m + w1·(g - m) as one FMA; v·b2 + (c2·g)·g; then
// p + (neg_step·m) / (sqrt(v) / bc2_sqrt + eps).
__global__ void AdamWUpdateKernel(float* params, const float* grads, float* m, float* v, int64_t n,
                                  AdamWCoefficients k) {
  for (int64_t i = GridThread(); i < n; i += GridStride()) {
    const float g = grads[i];
    const float p = params[i] * k.decay;
    const float mi = fmaf(k.w1, g - m[i], m[i]);
    const float vi = v[i] * k.beta2 + (k.c2 * g) * g;
    const float denom = sqrtf(vi) / k.bc2_sqrt + k.eps;
    params[i] = p + (k.neg_step * mi) / denom;
    m[i] = mi;
    v[i] = vi;
  }
}

}  // namespace

bool adamw_update(float* params, const float* grads, float* m, float* v, int64_t n, int64_t step,
                  const AdamWOptions& opt) {
  if (n <= 0) return true;
  const double lr = opt.lr;
  const double bias_correction1 = 1.0 - std::pow(static_cast<double>(opt.beta1), step);
  const double bias_correction2 = 1.0 - std::pow(static_cast<double>(opt.beta2), step);
  AdamWCoefficients k;
  k.decay = static_cast<float>(1.0 - lr * opt.weight_decay);
  k.w1 = static_cast<float>(1.0 - opt.beta1);
  k.beta2 = opt.beta2;
  k.c2 = static_cast<float>(1.0 - opt.beta2);
  k.bc2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
  k.eps = opt.eps;
  k.neg_step = static_cast<float>(-lr / bias_correction1);
  AdamWUpdateKernel<<<ElementwiseBlocks(n), kBlockThreads>>>(params, grads, m, v, n, k);
  return LaunchSucceeded();
}

}  // namespace flywheel::kernels::cuda
