// SwiGLU activation on the GPU: the signatures of cpu/swiglu.h on device pointers, without a
// thread pool. Element-wise, so a row's result depends on no other row. CUDA's expf and the CPU's
// vector exp may differ in the last bit or two, so the two paths agree to a few ulp, not bitwise.
#pragma once

#include <cstdint>

namespace flywheel::kernels::cuda {

// out (N, I) = silu(gate) * up; gate_up (N, 2I), row n = [gate (I) | up (I)]: device pointers.
// Synchronous. Returns false if the launch or the kernel fails.
bool swiglu_forward(float* out, const float* gate_up, int64_t N, int64_t I);

// dgate_up (N, 2I) += ∂L/∂gate_up; dout (N, I); gate_up (N, 2I) from the forward: device
// pointers. Synchronous. Returns false if the launch or the kernel fails.
bool swiglu_backward(float* dgate_up, const float* dout, const float* gate_up, int64_t N,
                     int64_t I);

}  // namespace flywheel::kernels::cuda
