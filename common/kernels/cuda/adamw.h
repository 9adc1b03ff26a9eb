// AdamW on the GPU: cpu/adamw.h's adamw_update on device pointers, without a thread pool.
// Element-wise with the CPU's scalar coefficients (formed on the host in double, as on the CPU)
// and the CPU's operations in the CPU's order, so the step matches the CPU bit for bit.
#pragma once

#include <cstdint>

#include "common/kernels/cpu/adamw.h"

namespace flywheel::kernels::cuda {

// One AdamW step on params (n) with grads (n) and moments m, v (n), device pointers; step is
// 1-based. The update rule is cpu/adamw.h's (decoupled weight decay, bias-corrected moments).
// Synchronous. Returns false if the launch or the kernel fails.
bool adamw_update(float* params, const float* grads, float* m, float* v, int64_t n, int64_t step,
                  const AdamWOptions& opt);

}  // namespace flywheel::kernels::cuda
