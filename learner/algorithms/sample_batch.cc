#include "learner/algorithms/sample_batch.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"

namespace flywheel::learner {
namespace {

absl::Status CheckLogprobs(const std::vector<float>& lp, size_t n, const std::string& what,
                           const char* name) {
  if (lp.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", lp.size(), " ", name, " for ", n, " completion tokens"));
  }
  for (size_t t = 0; t < lp.size(); ++t) {
    if (!std::isfinite(lp[t])) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": non-finite ", name, " at token ", t, " (", lp[t], ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSample(const TrainSample& s, const std::string& what, bool need_teacher) {
  if (s.prompt.empty()) return absl::InvalidArgumentError(absl::StrCat(what, ": empty prompt"));
  if (s.completion.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": empty completion"));
  }
  RETURN_IF_ERROR(CheckLogprobs(s.behaviour_logprobs, s.completion.size(), what,
                                "behaviour logprobs (the sampling weights may have diverged)"));
  if (!s.versions.empty() && s.versions.size() != s.completion.size()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", s.versions.size(), " versions for ",
                                                   s.completion.size(), " completion tokens"));
  }
  if (!std::isfinite(s.reward)) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": non-finite reward ", s.reward));
  }
  if (need_teacher) {
    RETURN_IF_ERROR(
        CheckLogprobs(s.teacher_logprobs, s.completion.size(), what, "teacher logprobs"));
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<const TrainSample*> Flatten(const std::vector<TrainGroup>& groups) {
  std::vector<const TrainSample*> out;
  for (const auto& g : groups) {
    for (const auto& s : g) out.push_back(&s);
  }
  return out;
}

absl::StatusOr<std::vector<TrainSequence>> ToSequences(const std::vector<TrainGroup>& groups,
                                                       const char* who, bool need_teacher) {
  if (groups.empty()) return absl::InvalidArgumentError(absl::StrCat(who, ": no groups"));
  std::vector<TrainSequence> seqs;
  for (size_t g = 0; g < groups.size(); ++g) {
    if (groups[g].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(who, ": group ", g, " is empty"));
    }
    for (size_t i = 0; i < groups[g].size(); ++i) {
      const TrainSample& s = groups[g][i];
      RETURN_IF_ERROR(
          CheckSample(s, absl::StrCat(who, ": group ", g, " sample ", i), need_teacher));
      TrainSequence seq;
      seq.tokens = s.prompt;
      seq.tokens.insert(seq.tokens.end(), s.completion.begin(), s.completion.end());
      seq.loss_begin = static_cast<int64_t>(s.prompt.size());
      seqs.push_back(std::move(seq));
    }
  }
  return seqs;
}

absl::Status UpdateInto(PolicyTrainer& trainer, const std::vector<TrainSequence>& seqs,
                        const LossFunction& loss, StepStats* stats) {
  ASSIGN_OR_RETURN(UpdateStats update, trainer.Update(seqs, loss));
  stats->grad_norm = update.grad_norm;
  stats->lr = update.lr;
  stats->skipped = !update.applied;
  return absl::OkStatus();
}

void CheckCurrentVersion(const std::vector<const TrainSample*>& samples,
                         const std::vector<absl::Span<const float>>& logp, int64_t policy_version,
                         LogprobCheck* check) {
  for (size_t i = 0; i < samples.size(); ++i) {
    const auto& v = samples[i]->versions;
    if (v.empty() ||
        !std::all_of(v.begin(), v.end(), [&](int64_t x) { return x == policy_version; })) {
      continue;
    }
    check->Add(logp[i], samples[i]->behaviour_logprobs);
  }
}

}  // namespace flywheel::learner
