// The seam between a job's sample-and-update loop (jobs/rl_loop.cc) and the algorithm it runs:
// what the batch producer must fetch for each sampled completion (rewards, teacher logprobs) and
// the update itself. GRPO and on-policy distillation implement it; the loop, its asynchrony,
// weight pushes, logprob checks, evals and checkpoints are shared.
//
// Thread safety: Step runs on the job's thread only; the rest is immutable.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/model/transformer.h"
#include "learner/algorithms/grpo_loss.h"
#include "learner/algorithms/opd_loss.h"
#include "learner/algorithms/samples.h"
#include "learner/algorithms/step_stats.h"
#include "learner/training/policy_trainer.h"

namespace flywheel::learner {

class RlAlgorithm {
 public:
  virtual ~RlAlgorithm() = default;
  // "grpo", "opd": the job spec's algorithm name (metrics label it so).
  virtual std::string name() const = 0;
  // Whether the producer must score completions on the reward servers.
  virtual bool needs_rewards() const = 0;
  // Whether the producer must fetch teacher logprobs of the sampled tokens.
  virtual bool needs_teacher() const = 0;
  // One update on `groups` (see GrpoStep / OpdStep for errors).
  virtual absl::StatusOr<StepStats> Step(PolicyTrainer& trainer,
                                         const std::vector<TrainGroup>& groups,
                                         int64_t policy_version) = 0;
};

// GRPO; reference may be null unless options.kl_coef > 0.
std::unique_ptr<RlAlgorithm> MakeGrpo(GrpoOptions options,
                                      std::shared_ptr<const model::Transformer> reference);
// On-policy distillation; rewards are fetched when options.reward_weight > 0.
std::unique_ptr<RlAlgorithm> MakeOpd(OpdOptions options);

}  // namespace flywheel::learner
