// Log-softmax over the vocabulary with the target token's logprob gathered, and the entropy.
// Each row is reduced in one fixed order that depends on V only (max, then Σ exp(x - max) in 32
// interleaved partial sums combined in a fixed tree), whatever the other rows or the thread count.
#pragma once

#include <cstdint>

#include "common/base/thread_pool.h"

namespace flywheel::kernels {

// logits (N, V); targets (N), each in [0, V).
// logprobs (N): logits[n, t] - lse[n]. entropy (N): -Σ_v p log p, may be null.
// lse (N): logsumexp of each row, saved for backward (may be null).
void logprobs_forward(float* logprobs, float* entropy, float* lse, const float* logits,
                      const int32_t* targets, int64_t N, int64_t V, ThreadPool* pool);

// dlogits (N, V) = dlogprobs[n] · (onehot(t) - p) + dentropy[n] · (-p · (log p + H)).
// Overwrites dlogits (the logits buffer is transient). dentropy and entropy may be null together.
// lse and entropy are the forward's outputs.
void logprobs_backward(float* dlogits, const float* dlogprobs, const float* dentropy,
                       const float* logits, const float* lse, const float* entropy,
                       const int32_t* targets, int64_t N, int64_t V, ThreadPool* pool);

}  // namespace flywheel::kernels
