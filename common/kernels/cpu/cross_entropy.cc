#include "common/kernels/cpu/cross_entropy.h"

namespace flywheel::kernels {

double cross_entropy_forward(const float* logprobs, const float* weights, int64_t N) {
  double loss = 0;
  for (int64_t n = 0; n < N; ++n) loss -= static_cast<double>(weights[n]) * logprobs[n];
  return loss;
}

void cross_entropy_backward(float* dlogprobs, const float* weights, float dloss, int64_t N) {
  for (int64_t n = 0; n < N; ++n) dlogprobs[n] += -weights[n] * dloss;
}

}  // namespace flywheel::kernels
