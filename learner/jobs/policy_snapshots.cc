#include "learner/jobs/policy_snapshots.h"

#include <algorithm>

#include "common/base/status_macros.h"
#include "learner/training/sequence_logprobs.h"

namespace flywheel::learner {

absl::Status PolicySnapshots::Keep(int64_t step, const model::Transformer& policy) {
  if (max_async_steps_ == 0) return absl::OkStatus();
  return Keep(step, model::ModelWeights{policy.config(),
                                        std::vector<float>(policy.params(),
                                                           policy.params() + policy.num_params())});
}

absl::Status PolicySnapshots::Keep(int64_t step, model::ModelWeights weights) {
  if (max_async_steps_ == 0) return absl::OkStatus();
  ASSIGN_OR_RETURN(auto copy, model::Transformer::Create(std::move(weights)));
  by_step_[step] = std::move(copy);
  while (!by_step_.empty() && by_step_.begin()->first < step - max_async_steps_) {
    by_step_.erase(by_step_.begin());
  }
  return absl::OkStatus();
}

const model::Transformer* PolicySnapshots::Get(int64_t step) const {
  auto it = by_step_.find(step);
  return it == by_step_.end() ? nullptr : it->second.get();
}

std::map<int64_t, const float*> PolicySnapshots::Before(int64_t step) const {
  std::map<int64_t, const float*> out;
  for (const auto& [s, policy] : by_step_) {
    if (s < step) out[s] = policy->params();
  }
  return out;
}

absl::Status PolicySnapshots::CheckStale(const std::vector<TrainGroup>& groups,
                                         int64_t version_base, int64_t current_version,
                                         int64_t micro_batch_size, ThreadPool* pool,
                                         LogprobCheck* check) const {
  std::map<int64_t, std::vector<const TrainSample*>> by_step;
  for (const auto& g : groups) {
    for (const auto& s : g) {
      if (s.versions.empty()) continue;
      const auto [lo, hi] = std::minmax_element(s.versions.begin(), s.versions.end());
      if (*lo == *hi && *lo != current_version) by_step[*lo - version_base].push_back(&s);
    }
  }
  for (const auto& [step, samples] : by_step) {
    auto it = by_step_.find(step);
    if (it == by_step_.end()) continue;
    std::vector<ScoredSpan> spans;
    for (const TrainSample* s : samples) spans.push_back({&s->prompt, &s->completion});
    ASSIGN_OR_RETURN(auto lps, SequenceLogprobs(*it->second, spans, micro_batch_size, pool));
    for (size_t i = 0; i < samples.size(); ++i) check->Add(lps[i], samples[i]->behaviour_logprobs);
  }
  return absl::OkStatus();
}

Staleness BatchStaleness(const std::vector<TrainGroup>& groups, int64_t current_version) {
  Staleness st;
  double sum = 0;
  int64_t n = 0;
  for (const auto& g : groups) {
    for (const auto& s : g) {
      if (s.versions.empty()) continue;
      const int64_t stale =
          current_version - *std::min_element(s.versions.begin(), s.versions.end());
      st.max = std::max(st.max, stale);
      sum += static_cast<double>(stale);
      ++n;
    }
  }
  st.mean = n > 0 ? sum / static_cast<double>(n) : 0.0;
  return st;
}

}  // namespace flywheel::learner
