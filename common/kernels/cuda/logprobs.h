// Log-softmax with the target token's logprob gathered, and the entropy, on the GPU:
// cpu/logprobs.h's logprobs_forward and logprobs_backward on device pointers, without a thread
// pool. Forward: one thread block reduces one row (max, then Σ exp(x - max)) in BlockReduce's
// fixed order, which depends on V only, so a row's results do not depend on the other rows of the
// call. Backward is element-wise given the forward's lse and entropy.
#pragma once

#include <cstdint>

namespace flywheel::kernels::cuda {

// logits (N, V); targets (N), each in [0, V) (checked by the caller).
// logprobs (N): logits[n, t] - lse[n]. entropy (N): -Σ_v p log p, may be null.
// lse (N): logsumexp of each row, saved for backward (may be null).
// Device pointers. Synchronous. Returns false if the launch or the kernel fails.
bool logprobs_forward(float* logprobs, float* entropy, float* lse, const float* logits,
                      const int32_t* targets, int64_t N, int64_t V);

// dlogits (N, V) = dlogprobs[n] · (onehot(t) - p) + dentropy[n] · (-p · (log p + H)).
// Overwrites dlogits. dentropy and entropy may be null together. lse and entropy are the
// forward's outputs. Device pointers. Synchronous. Returns false if the launch or the kernel fails.
bool logprobs_backward(float* dlogits, const float* dlogprobs, const float* dentropy,
                       const float* logits, const float* lse, const float* entropy,
                       const int32_t* targets, int64_t N, int64_t V);

}  // namespace flywheel::kernels::cuda
