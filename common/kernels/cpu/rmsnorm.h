// RMSNorm as in Llama/Qwen: out = (x * rstd) * weight, rstd = 1 / sqrt(mean(x²) + eps).
// Each row is reduced in one fixed order. Also used per head for Qwen3's QK-norm (C = head_dim).
#pragma once

#include <cstdint>

#include "common/base/thread_pool.h"

namespace flywheel::kernels {

// out (N, C), rstd (N) saved for backward (may be null), inp (N, C), weight (C).
// out may alias inp.
void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, float eps,
                     int64_t N, int64_t C, ThreadPool* pool);

// dinp (N, C) += ∂L/∂inp; dweight (C) += ∂L/∂weight (accumulated over rows n = 0..N-1 in order);
// dout (N, C), inp (N, C), weight (C), rstd (N) from the forward.
void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp,
                      const float* weight, const float* rstd, int64_t N, int64_t C,
                      ThreadPool* pool);

}  // namespace flywheel::kernels
