// Sampling completions of a set of prompts on the rollout servers and scoring them on the reward
// servers: the producer side of a GRPO step and of an eval.
//
// Thread safety: a function of its arguments; the pools are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tokenizer/tokenizer.h"
#include "flywheel/v1/learner.pb.h"
#include "learner/job_data.h"
#include "learner/reward_pool.h"
#include "learner/rollout_pool.h"

namespace flywheel::learner {

struct ScoredCompletion {
  v1::Completion completion;
  double reward = 0.0;  // 0 when the reward service could not score the item
  bool correct = false;
  bool reward_error = false;
};

struct ScoredPrompt {
  const JobRow* row = nullptr;
  std::vector<int32_t> prompt_ids;
  std::vector<ScoredCompletion> completions;
};

// n completions of each row's prompt with `sampling` (its seed replaced by seeds[i] for row i),
// each scored against the row's task. The completion text sent for scoring leaves out special
// tokens such as end-of-sequence.
absl::StatusOr<std::vector<ScoredPrompt>> SampleAndScore(const std::vector<const JobRow*>& rows,
                                                         int n, const v1::SamplingParams& sampling,
                                                         const std::vector<uint64_t>& seeds,
                                                         RolloutPool* rollouts, RewardPool* rewards,
                                                         const tokenizer::Tokenizer& tokenizer,
                                                         const std::atomic<bool>* cancel);

// Greedy held-out accuracy: the fraction of rows whose single greedy completion the reward
// service marks correct.
absl::StatusOr<double> EvalAccuracy(const std::vector<const JobRow*>& rows,
                                    const v1::SamplingParams& sampling, RolloutPool* rollouts,
                                    RewardPool* rewards, const tokenizer::Tokenizer& tokenizer,
                                    const std::atomic<bool>* cancel);

}  // namespace flywheel::learner
