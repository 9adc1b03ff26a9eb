// AdamW (decoupled weight decay, Loshchilov & Hutter) as torch.optim.AdamW computes it, and
// global-norm gradient clipping as torch.nn.utils.clip_grad_norm_.
#pragma once

#include <cstdint>

#include "common/base/thread_pool.h"

namespace flywheel::kernels {

struct AdamWOptions {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.01f;
};

// L2 norm of grads (n), summed in double over fixed-size chunks combined in chunk order, so the
// result does not depend on the thread count.
double grad_norm(const float* grads, int64_t n, ThreadPool* pool);

// Scales grads by min(1, max_norm / (norm + 1e-6)) like clip_grad_norm_; returns the norm before
// clipping. max_norm <= 0 disables clipping (the norm is still returned).
double clip_grad_norm(float* grads, int64_t n, float max_norm, ThreadPool* pool);

// One AdamW step on params (n) with grads (n) and moments m, v (n); step is 1-based:
//   p -= lr * wd * p;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g²
//   p -= (lr / (1 - b1^step)) * m / (sqrt(v) / sqrt(1 - b2^step) + eps)
void adamw_update(float* params, const float* grads, float* m, float* v, int64_t n, int64_t step,
                  const AdamWOptions& opt, ThreadPool* pool);

}  // namespace flywheel::kernels
