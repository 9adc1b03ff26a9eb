// RMSNorm on the GPU: the signature of cpu/rmsnorm.h on device pointers, without a thread pool.
// One thread block reduces one row in a fixed tree order, so a row's result is independent of the
// number of rows (batch invariance on the GPU as on the CPU). Checked against the CPU path, the
// next link of the PyTorch -> CPU -> CUDA chain.
#pragma once

#include <cstdint>

namespace flywheel::kernels::cuda {

// out (N, C), rstd (N) (may be null), inp (N, C), weight (C): device pointers. Synchronous.
// Returns false (and leaves out untouched) if the launch fails.
bool rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, float eps,
                     int64_t N, int64_t C);

}  // namespace flywheel::kernels::cuda
