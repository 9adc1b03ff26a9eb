// What the learner trains on after a batch is sampled: each completion with the behaviour
// logprobs and weight versions the rollout server reported, its reward, and (for distillation)
// the teacher's logprobs of the same tokens. Filled by the job's batch producer
// (jobs/rollout_batch.h), read by the algorithms' steps.
#pragma once

#include <cstdint>
#include <vector>

namespace flywheel::learner {

// One sampled completion of a prompt.
struct TrainSample {
  std::vector<int32_t> prompt;            // token ids, non-empty
  std::vector<int32_t> completion;        // token ids, non-empty
  std::vector<float> behaviour_logprobs;  // raw rollout logprobs, one per completion token
  std::vector<int64_t> versions;          // weight version of each token; may be empty
  double reward = 0.0;
  bool correct = false;       // the reward service's verdict
  bool reward_error = false;  // the reward service could not score it (reward 0)
  bool truncated = false;     // stopped by max_tokens or the context, not by a stop condition
  // The teacher's raw logprob of each completion token (distillation); empty otherwise.
  std::vector<float> teacher_logprobs;
  // The teacher's context when it is not `prompt` (a privileged prompt); empty otherwise.
  std::vector<int32_t> teacher_prompt;
};

using TrainGroup = std::vector<TrainSample>;  // the G completions of one prompt

// A supervised example: the loss covers the target tokens only.
struct SftExample {
  std::vector<int32_t> prompt;  // non-empty
  std::vector<int32_t> target;  // non-empty
};

}  // namespace flywheel::learner
