// RMSNorm on the GPU: the signatures of cpu/rmsnorm.h on device pointers, without a thread pool.
// One thread block reduces one row in a fixed tree order, so a row's result is independent of the
// number of rows (batch invariance on the GPU as on the CPU). Checked against the CPU path, the
// next link of the PyTorch -> CPU -> CUDA chain.
#pragma once

#include <cstdint>

namespace flywheel::kernels::cuda {

// out (N, C), rstd (N) (may be null), inp (N, C), weight (C): device pointers. Synchronous.
// Returns false if the launch or the kernel fails.
bool rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, float eps,
                     int64_t N, int64_t C);

// dinp (N, C) += ∂L/∂inp; dweight (C) += ∂L/∂weight, rows added in order n = 0..N-1 as on the
// CPU; dout (N, C), inp (N, C), weight (C), rstd (N) from the forward: device pointers.
// Synchronous. Returns false if a launch or a kernel fails.
bool rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp,
                      const float* weight, const float* rstd, int64_t N, int64_t C);

}  // namespace flywheel::kernels::cuda
