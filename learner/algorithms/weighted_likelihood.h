// REINFORCE with a given weight per sequence: the update of self-play's two roles (SGS's
// REINFORCE-1/2 for the solver, the conjecturer's normalised reward), as a loss and a step.
//
//   L = -(1/N) sum_i w_i (1/|y_i|) sum_t logp(y_i,t)
//
// over the N weighted sequences: each sequence's token mean, so a long completion does not weigh
// more than a short one (SGS's L_RF). dL/dlogp(y_i,t) = -w_i / (N |y_i|). A negative weight (the
// length penalty) pushes the sequence's tokens down.
//
// Thread safety: one step at a time per trainer.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "learner/algorithms/samples.h"
#include "learner/algorithms/step_stats.h"
#include "learner/training/policy_trainer.h"

namespace flywheel::learner {

struct WeightedSample {
  TrainSample sample;  // prompt, completion, behaviour logprobs, versions
  double weight = 0;   // w_i, finite
};

// The loss and its per-token gradient given each sequence's logprobs (logp[i] of sample i's
// completion). InvalidArgument for no samples, a length mismatch or a non-finite weight.
absl::StatusOr<LossOutputs> WeightedLikelihoodLoss(
    const std::vector<WeightedSample>& samples, const std::vector<absl::Span<const float>>& logp);

// One update on `samples` (ToSequences' checks on each sample); the rollout-vs-learner check on
// those drawn by policy_version. Errors as GrpoStep.
absl::StatusOr<StepStats> WeightedLikelihoodStep(PolicyTrainer& trainer,
                                                 const std::vector<WeightedSample>& samples,
                                                 int64_t policy_version);

}  // namespace flywheel::learner
