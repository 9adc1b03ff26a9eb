// Sampling one step's batch, the producer side of every RL step: completions of each prompt on
// the rollout servers, then (as the algorithm needs) rewards on the reward servers and the
// teacher's logprobs of the very same tokens; and the greedy held-out accuracy of an eval.
//
// Thread safety: functions of their arguments; the pools are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tokenizer/tokenizer.h"
#include "flywheel/v1/learner.pb.h"
#include "learner/algorithms/samples.h"
#include "learner/jobs/batch_health.h"
#include "learner/jobs/job_data.h"
#include "learner/servers/reward_pool.h"
#include "learner/servers/rollout_pool.h"

namespace flywheel::learner {

// Where a batch comes from. rewards and teacher may be null when not needed.
struct BatchSources {
  RolloutPool* rollouts = nullptr;
  RewardPool* rewards = nullptr;
  // The teacher's servers: a pool of its own, or the policy's rollout pool for teacher "self".
  RolloutPool* teacher = nullptr;
  const tokenizer::Tokenizer* tokenizer = nullptr;
};

struct Batch {
  std::vector<TrainGroup> groups;  // one per row, in row order
  double reward_mean = 0, reward_std = 0, pass_rate = 0;
  int64_t completion_tokens = 0;
  int reward_errors = 0;
  // Producer time by phase.
  double sample_seconds = 0, reward_seconds = 0, teacher_seconds = 0;
  // Lengths, truncation, format failures, rubric disagreement.
  BatchHealth health;
};

struct BatchOptions {
  int group_size = 1;           // completions per row
  v1::SamplingParams sampling;  // its seed is replaced per row
  bool rewards = true;          // score on sources.rewards
  bool teacher = false;         // teacher logprobs on sources.teacher
};

// group_size completions of each row (row i sampled with seeds[i], so a retried request or a
// resumed run draws the same tokens), scored as `options` asks. The completion text sent for
// scoring leaves out special tokens such as end-of-sequence. The teacher scores each completion
// after the row's teacher prompt (its privileged prompt, else its prompt).
absl::StatusOr<Batch> SampleBatch(const std::vector<const JobRow*>& rows,
                                  const std::vector<uint64_t>& seeds, const BatchOptions& options,
                                  const BatchSources& sources, const std::atomic<bool>* cancel);

// Greedy held-out accuracy: the fraction of rows whose single greedy completion the reward
// service marks correct.
absl::StatusOr<double> EvalAccuracy(const std::vector<const JobRow*>& rows,
                                    const v1::SamplingParams& sampling, const BatchSources& sources,
                                    const std::atomic<bool>* cancel);

}  // namespace flywheel::learner
