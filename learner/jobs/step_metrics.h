// The one place a finished step becomes StepMetrics (what WatchJob streams, the job database
// stores and Prometheus exports): the algorithm's own numbers, the batch's rewards and producer
// times, staleness, the logprob check and the step's wall-time split.
//
// Thread safety: a pure function.
#pragma once

#include <cstdint>

#include "flywheel/v1/learner.pb.h"
#include "learner/algorithms/step_stats.h"
#include "learner/jobs/policy_snapshots.h"
#include "learner/jobs/rollout_batch.h"

namespace flywheel::learner {

struct StepReport {
  int64_t step = 0;
  const StepStats* stats = nullptr;  // required
  const Batch* batch = nullptr;      // the sampled batch; null for SFT
  Staleness staleness;
  // Wall time of the step's phases on the learner: waiting for the batch, the update, the
  // weight push; step = all of them.
  double wait_seconds = 0, update_seconds = 0, push_seconds = 0, step_seconds = 0;
  int64_t trained_tokens = 0;   // completion (RL) or target (SFT) tokens
  int32_t groups = 0;           // prompt groups (RL) or examples (SFT)
  int64_t retries = 0;          // requests retried on another replica since the job (re)started
  int32_t rollout_servers = 0;  // rollout servers serving the job at the step's end
};

v1::StepMetrics ToStepMetrics(const StepReport& report);

}  // namespace flywheel::learner
