// SwiGLU MLP activation: out = silu(gate) * up, silu(x) = x / (1 + exp(-x)).
// gate and up come fused from one GEMM: row n of gate_up (N, 2I) is [gate (I) | up (I)].
#pragma once

#include <cstdint>

#include "common/base/thread_pool.h"

namespace flywheel::kernels {

// out (N, I); gate_up (N, 2I).
void swiglu_forward(float* out, const float* gate_up, int64_t N, int64_t I, ThreadPool* pool);

// dgate_up (N, 2I) += ∂L/∂gate_up; dout (N, I); gate_up (N, 2I) from the forward.
void swiglu_backward(float* dgate_up, const float* dout, const float* gate_up, int64_t N, int64_t I,
                     ThreadPool* pool);

}  // namespace flywheel::kernels
