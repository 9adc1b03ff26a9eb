// Weighted cross-entropy on gathered token logprobs: loss = -Σ_n w[n] · logprob[n].
// With w[n] = 1 / (number of target tokens) on targets and 0 elsewhere it is the mean token loss.
#pragma once

#include <cstdint>

namespace flywheel::kernels {

// Returns the loss, summed in double in index order. logprobs (N), weights (N).
double cross_entropy_forward(const float* logprobs, const float* weights, int64_t N);

// dlogprobs (N) += -weights[n] · dloss.
void cross_entropy_backward(float* dlogprobs, const float* weights, float dloss, int64_t N);

}  // namespace flywheel::kernels
