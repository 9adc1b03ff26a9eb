// One on-policy distillation update (opd_loss.h): the student's sampled completions, the
// teacher's logprobs of the same tokens (TrainSample::teacher_logprobs), the per-token reverse-KL
// advantage plus the optional group-centred reward, backward and AdamW.
//
// Thread safety: one step at a time per trainer.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "learner/algorithms/opd_loss.h"
#include "learner/algorithms/samples.h"
#include "learner/algorithms/step_stats.h"
#include "learner/training/policy_trainer.h"

namespace flywheel::learner {

// policy_version: as GrpoStep. Errors, with weights and optimizer state unchanged:
// InvalidArgument for bad input (ToSequences with teacher logprobs required) or bad options;
// FailedPrecondition for non-finite numbers.
absl::StatusOr<StepStats> OpdStep(PolicyTrainer& trainer, const std::vector<TrainGroup>& groups,
                                  const OpdOptions& options, int64_t policy_version);

}  // namespace flywheel::learner
