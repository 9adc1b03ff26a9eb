#include "learner/algorithms/weighted_likelihood.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "learner/algorithms/sample_batch.h"

namespace flywheel::learner {

absl::StatusOr<LossOutputs> WeightedLikelihoodLoss(
    const std::vector<WeightedSample>& samples, const std::vector<absl::Span<const float>>& logp) {
  if (samples.empty()) return absl::InvalidArgumentError("WeightedLikelihoodLoss: no samples");
  if (logp.size() != samples.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "WeightedLikelihoodLoss: ", logp.size(), " logprob rows for ", samples.size(), " samples"));
  }
  const double n = static_cast<double>(samples.size());
  LossOutputs out;
  for (size_t i = 0; i < samples.size(); ++i) {
    const double w = samples[i].weight;
    const size_t t = samples[i].sample.completion.size();
    if (!std::isfinite(w)) {
      return absl::InvalidArgumentError(absl::StrCat("WeightedLikelihoodLoss: weight ", w));
    }
    if (logp[i].size() != t || t == 0) {
      return absl::InvalidArgumentError(absl::StrCat("WeightedLikelihoodLoss: sample ", i, " has ",
                                                     logp[i].size(), " logprobs for ", t,
                                                     " tokens"));
    }
    const double scale = w / (n * static_cast<double>(t));
    for (float x : logp[i]) out.loss -= scale * x;
    out.dlogp.emplace_back(t, static_cast<float>(-scale));
  }
  return out;
}

absl::StatusOr<StepStats> WeightedLikelihoodStep(PolicyTrainer& trainer,
                                                 const std::vector<WeightedSample>& samples,
                                                 int64_t policy_version) {
  // One group per sample: ToSequences validates each the way the other steps do.
  std::vector<TrainGroup> groups;
  groups.reserve(samples.size());
  for (const auto& s : samples) groups.push_back({s.sample});
  ASSIGN_OR_RETURN(std::vector<TrainSequence> seqs,
                   ToSequences(groups, "WeightedLikelihoodStep", /*need_teacher=*/false));
  const std::vector<const TrainSample*> flat = Flatten(groups);
  StepStats stats;
  auto loss = [&](const LossInputs& in) -> absl::StatusOr<LossOutputs> {
    ASSIGN_OR_RETURN(LossOutputs out, WeightedLikelihoodLoss(samples, in.logp));
    double entropy_sum = 0;
    int64_t tokens = 0;
    for (const auto& e : in.entropy) {
      for (float x : e) entropy_sum += x;
      tokens += static_cast<int64_t>(e.size());
    }
    stats.loss = out.loss;
    stats.tokens = tokens;
    if (tokens > 0) stats.entropy = entropy_sum / static_cast<double>(tokens);
    CheckCurrentVersion(flat, in.logp, policy_version, &stats.check);
    return out;
  };
  RETURN_IF_ERROR(UpdateInto(trainer, seqs, loss, &stats));
  return stats;
}

}  // namespace flywheel::learner
