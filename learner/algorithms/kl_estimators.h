// Per-token estimators of KL(π || π_ref) from the sampled token's two logprobs (Schulman,
// "Approximating KL divergence"; ALGORITHMS.md sec 1.3), each with its derivative with respect to
// the policy's logprob. verl names them "kl" (k1), "mse" (k2) and "low_var_kl" (k3, GRPO's).
//
// Pure functions; safe from any thread.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "learner/algorithms/surrogate.h"

namespace flywheel::learner {

enum class KlEstimator {
  kK1,  // logp - logp_ref: unbiased, high variance, can be negative per token
  kK2,  // (logp - logp_ref)^2 / 2: biased, low variance; its gradient is KL's in expectation
  kK3,  // exp(d) - d - 1, d = logp_ref - logp: unbiased, non-negative, low variance (GRPO)
};

// "k1", "k2" or "k3"; InvalidArgument naming the choices otherwise.
absl::StatusOr<KlEstimator> ParseKlEstimator(absl::string_view name);

struct KlTerm {
  double value = 0.0;
  double dlogp = 0.0;  // d value / d logp
};

// verl's clamp of k3 to [-10, 10], so one token whose reference probability dwarfs the policy's
// cannot dominate the batch.
inline constexpr double kMaxK3 = 10.0;

inline KlTerm Kl(KlEstimator estimator, double logp, double logp_ref) {
  switch (estimator) {
    case KlEstimator::kK1:
      return {logp - logp_ref, 1.0};
    case KlEstimator::kK2:
      return {0.5 * (logp - logp_ref) * (logp - logp_ref), logp - logp_ref};
    case KlEstimator::kK3:
      break;
  }
  // d/dlogp of exp(d) - d - 1 with d = ref - logp is 1 - exp(d); no gradient where a clamp cut.
  const double d_raw = logp_ref - logp;
  const double d = std::clamp(d_raw, -kMaxLogRatio, kMaxLogRatio);
  const double k3_raw = std::exp(d) - d - 1.0;
  const bool live = std::abs(d_raw) <= kMaxLogRatio && std::abs(k3_raw) <= kMaxK3;
  return {std::clamp(k3_raw, -kMaxK3, kMaxK3), live ? 1.0 - std::exp(d) : 0.0};
}

}  // namespace flywheel::learner
