#include "learner/training/logprob_check.h"

#include <algorithm>
#include <cmath>

namespace flywheel::learner {

void LogprobCheck::Add(absl::Span<const float> learner, absl::Span<const float> rollout) {
  const size_t n = std::min(learner.size(), rollout.size());
  for (size_t t = 0; t < n; ++t) {
    const double d = std::fabs(static_cast<double>(learner[t]) - static_cast<double>(rollout[t]));
    max_ = std::max(max_, d);
    sum_ += d;
  }
  tokens_ += static_cast<int64_t>(n);
}

void LogprobCheck::Merge(const LogprobCheck& other) {
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
  tokens_ += other.tokens_;
}

}  // namespace flywheel::learner
