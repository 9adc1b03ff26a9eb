// One supervised fine-tuning update: the token mean of -logprob over every target token of the
// batch (the cross-entropy kernel), backward and AdamW. The warm start before RL.
//
// Thread safety: one step at a time per trainer.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "learner/algorithms/samples.h"
#include "learner/algorithms/step_stats.h"
#include "learner/training/policy_trainer.h"

namespace flywheel::learner {

// Errors, with weights and optimizer state unchanged: InvalidArgument for an empty batch, prompt
// or target, or an id outside the vocabulary; FailedPrecondition for non-finite numbers.
absl::StatusOr<StepStats> SftStep(PolicyTrainer& trainer, const std::vector<SftExample>& batch);

}  // namespace flywheel::learner
