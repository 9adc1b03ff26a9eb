// Group-relative advantages for outcome rewards (GRPO, DeepSeekMath; ALGORITHMS.md sec 1.1).
//
// One scalar reward per completion; every token of completion i later gets the same A_i.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace flywheel::learner {

struct AdvantageOptions {
  // true: A_i = (R_i - mean) / (std + std_eps), GRPO. false: A_i = R_i - mean, Dr. GRPO.
  bool normalize_by_std = true;
  // std is the unbiased estimator (N - 1) with eps 1e-6, as verl's compute_grpo_outcome_advantage.
  // TRL differs only in eps (1e-4); the choice is documented here so numbers can be compared.
  double std_eps = 1e-6;
};

// Advantages of one group of G completions of the same prompt, in the order of `rewards`.
//
// A group whose rewards are all equal gets exactly 0 for every member (mean subtraction, then
// 0 / (0 + eps)); never a division 0/0.
//
// Errors (InvalidArgument): an empty group; a non-finite reward; std_eps <= 0 or non-finite when
// normalising; G == 1 when normalising by std (the unbiased std of one sample is undefined, and
// verl's fallback A = R silently turns a group-relative estimator into raw-reward REINFORCE).
// Without std normalisation G == 1 is accepted and gives A = 0.
absl::StatusOr<std::vector<double>> GroupAdvantages(absl::Span<const double> rewards,
                                                    const AdvantageOptions& options);

}  // namespace flywheel::learner
