// Weighted cross-entropy on gathered token logprobs on the GPU: cpu/cross_entropy.h's signatures
// on device pointers, the loss returned through a host pointer. Both compute what the CPU computes
// in the CPU's order, so they match it bit for bit.
#pragma once

#include <cstdint>

namespace flywheel::kernels::cuda {

// *loss (host) = -Σ_n w[n] · logprob[n], summed in double in index order as on the CPU;
// logprobs (N), weights (N): device pointers. Synchronous. Returns false (and leaves *loss alone)
// if an allocation, the launch, the kernel or the copy back fails.
bool cross_entropy_forward(double* loss, const float* logprobs, const float* weights, int64_t N);

// dlogprobs (N) += -weights[n] · dloss; dlogprobs, weights (N): device pointers. Synchronous.
// Returns false if the launch or the kernel fails.
bool cross_entropy_backward(float* dlogprobs, const float* weights, float dloss, int64_t N);

}  // namespace flywheel::kernels::cuda
