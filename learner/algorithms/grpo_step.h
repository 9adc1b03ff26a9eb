// One GRPO update (ALGORITHMS.md sec 1): the groups' completions forwarded by the policy, the
// GRPO loss with the rollout server's logprobs as π_old (grpo_loss.h), backward and AdamW
// (training/policy_trainer.h). With kl_coef > 0 the reference model's logprobs of the same
// tokens feed the k3 term.
//
// Thread safety: one step at a time per trainer; the reference is only read.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "common/model/transformer.h"
#include "learner/algorithms/grpo_loss.h"
#include "learner/algorithms/samples.h"
#include "learner/algorithms/step_stats.h"
#include "learner/training/policy_trainer.h"

namespace flywheel::learner {

// policy_version is the version the trainer's current weights were pushed as; samples drawn
// entirely by it are checked bit for bit (StepStats::check). reference may be null unless
// options.kl_coef > 0.
// Errors, with weights and optimizer state unchanged: InvalidArgument for bad input (see
// ToSequences in sample_batch.h), kl_coef > 0 without a reference, or bad options;
// FailedPrecondition for non-finite numbers (PolicyTrainer::Update).
absl::StatusOr<StepStats> GrpoStep(PolicyTrainer& trainer, const model::Transformer* reference,
                                   const std::vector<TrainGroup>& groups,
                                   const GrpoOptions& options, int64_t policy_version);

}  // namespace flywheel::learner
