// AdamW and global-norm gradient clipping on the GPU: cpu/adamw.h's functions on device
// pointers, without a thread pool, the norm returned through a host pointer.
// AdamW is element-wise with the CPU's scalar coefficients (formed on the host in double, as on
// the CPU) and the CPU's operations in the CPU's order, so the step matches the CPU bit for bit.
// The norm is summed in double over the CPU's fixed chunks (launch_shape.h's kNormChunk), each
// chunk by one block in BlockReduce's order, the chunks' partial sums by one thread in chunk
// order: no atomics, and an order that depends on n alone.
#pragma once

#include <cstdint>

#include "common/kernels/cpu/adamw.h"

namespace flywheel::kernels::cuda {

// *norm (host) = L2 norm of grads (n, device), Σ g² in double as described above. Synchronous.
// Returns false (and leaves *norm alone) if an allocation, a launch, a kernel or the copy back
// fails.
bool grad_norm(double* norm, const float* grads, int64_t n);

// Scales grads (n, device) by min(1, max_norm / (norm + 1e-6)) like clip_grad_norm_, the factor
// rounded to float as on the CPU; *norm (host) receives the norm before clipping. max_norm <= 0
// disables clipping (the norm is still computed). Synchronous. Returns false if grad_norm or the
// scaling fails; grads are unchanged unless the scaling launch itself fails.
bool clip_grad_norm(double* norm, float* grads, int64_t n, float max_norm);

// One AdamW step on params (n) with grads (n) and moments m, v (n), device pointers; step is
// 1-based. The update rule is cpu/adamw.h's (decoupled weight decay, bias-corrected moments).
// Synchronous. Returns false if the launch or the kernel fails.
bool adamw_update(float* params, const float* grads, float* m, float* v, int64_t n, int64_t step,
                  const AdamWOptions& opt);

}  // namespace flywheel::kernels::cuda
