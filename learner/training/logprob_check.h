// The rollout-vs-learner logprob check: how far the logprobs a rollout server reported for its
// tokens are from the ones the learner computes with the same weights. flywheel's kernels make
// them bitwise equal, so every figure here is expected to be exactly 0; the job exports them each
// step (StepMetrics, flywheel_learner_logprob_diff_*) so a user can see that it holds.
//
// Thread safety: a value type; one thread at a time.
#pragma once

#include <cstdint>

#include "absl/types/span.h"

namespace flywheel::learner {

class LogprobCheck {
 public:
  // Compares two logprob sequences of the same tokens, element by element (equal lengths).
  void Add(absl::Span<const float> learner, absl::Span<const float> rollout);
  // Folds in another check's tokens.
  void Merge(const LogprobCheck& other);

  double max() const { return max_; }
  double mean() const { return tokens_ > 0 ? sum_ / static_cast<double>(tokens_) : 0.0; }
  int64_t tokens() const { return tokens_; }

 private:
  double max_ = 0.0;
  double sum_ = 0.0;
  int64_t tokens_ = 0;
};

}  // namespace flywheel::learner
