// What one algorithm step reports about itself, whatever the algorithm: the update, the loss's
// own numbers, and the rollout-vs-learner logprob check. The job turns it into StepMetrics
// (jobs/step_metrics.h).
#pragma once

#include <cstdint>

#include "learner/training/logprob_check.h"

namespace flywheel::learner {

struct StepStats {
  double loss = 0;
  double grad_norm = 0;   // global L2 norm before clipping
  double lr = 0;          // the learning rate applied
  double entropy = 0;     // mean over the loss tokens of the next-token entropy
  double kl = 0;          // mean k3 against the reference (GRPO with a reference)
  double clip_frac = 0;   // tokens whose ratio was clipped (low + high)
  double teacher_kl = 0;  // mean sampled reverse KL to the teacher (distillation)
  int64_t tokens = 0;     // tokens in the loss
  int dropped_groups = 0;
  // Nothing to learn from (every group dropped): weights unchanged, the step is not counted.
  bool skipped = false;
  // Samples whose tokens were all drawn by the weights being updated, checked bit for bit.
  LogprobCheck check;
};

}  // namespace flywheel::learner
