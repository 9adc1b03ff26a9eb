// What every policy-gradient step does with a batch of sampled groups before and after its own
// loss: validate the samples, lay them out as trainer sequences (prompt + completion, the loss
// over the completion), and check the rollout server's logprobs of the samples drawn by the
// weights being updated against the learner's own, bit for bit.
//
// Thread safety: functions of their arguments.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "learner/algorithms/samples.h"
#include "learner/algorithms/step_stats.h"
#include "learner/training/logprob_check.h"
#include "learner/training/policy_trainer.h"

namespace flywheel::learner {

// The samples in group-major order (group 0's completions, then group 1's, ...).
std::vector<const TrainSample*> Flatten(const std::vector<TrainGroup>& groups);

// One TrainSequence per sample (group-major). InvalidArgument, naming `who` and the sample, for
// no groups, an empty group, prompt or completion, behaviour logprobs or versions whose length
// is not the completion's, a non-finite reward or behaviour logprob, or, when need_teacher,
// teacher logprobs that are missing, of the wrong length or non-finite.
absl::StatusOr<std::vector<TrainSequence>> ToSequences(const std::vector<TrainGroup>& groups,
                                                       const char* who, bool need_teacher);

// trainer.Update with `loss`, its numbers (grad norm, lr, skipped) folded into *stats.
absl::Status UpdateInto(PolicyTrainer& trainer, const std::vector<TrainSequence>& seqs,
                        const LossFunction& loss, StepStats* stats);

// Adds to `check` each sample whose versions all equal policy_version: its behaviour logprobs
// against logp[i], the learner's logprobs of its completion. Samples without versions, or drawn
// (even in part) by other weights, are left to the job's check against older snapshots.
void CheckCurrentVersion(const std::vector<const TrainSample*>& samples,
                         const std::vector<absl::Span<const float>>& logp, int64_t policy_version,
                         LogprobCheck* check);

}  // namespace flywheel::learner
