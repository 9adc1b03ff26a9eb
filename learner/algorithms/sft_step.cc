#include "learner/algorithms/sft_step.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/kernels/cpu/cross_entropy.h"

namespace flywheel::learner {

absl::StatusOr<StepStats> SftStep(PolicyTrainer& trainer, const std::vector<SftExample>& batch) {
  if (batch.empty()) return absl::InvalidArgumentError("SftStep: empty batch");
  std::vector<TrainSequence> seqs;
  int64_t n_targets = 0;
  for (size_t s = 0; s < batch.size(); ++s) {
    if (batch[s].prompt.empty() || batch[s].target.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("SftStep: example ", s, " has an empty prompt or target"));
    }
    TrainSequence seq;
    seq.tokens = batch[s].prompt;
    seq.tokens.insert(seq.tokens.end(), batch[s].target.begin(), batch[s].target.end());
    seq.loss_begin = static_cast<int64_t>(batch[s].prompt.size());
    seqs.push_back(std::move(seq));
    n_targets += static_cast<int64_t>(batch[s].target.size());
  }
  StepStats stats;
  stats.tokens = n_targets;
  auto loss = [&](const LossInputs& in) -> absl::StatusOr<LossOutputs> {
    // Gather the target logprobs into flat arrays for the cross-entropy kernel.
    std::vector<float> flat_lp, flat_dlp(n_targets, 0.0f);
    flat_lp.reserve(n_targets);
    double entropy_sum = 0;
    for (size_t s = 0; s < in.logp.size(); ++s) {
      flat_lp.insert(flat_lp.end(), in.logp[s].begin(), in.logp[s].end());
      for (float e : in.entropy[s]) entropy_sum += e;
    }
    const std::vector<float> weights(n_targets,
                                     static_cast<float>(1.0 / static_cast<double>(n_targets)));
    LossOutputs out;
    out.loss = kernels::cross_entropy_forward(flat_lp.data(), weights.data(), n_targets);
    stats.entropy = entropy_sum / static_cast<double>(n_targets);
    if (!std::isfinite(out.loss)) {
      return NonFiniteError(trainer.step(), absl::StrCat("loss ", out.loss));
    }
    kernels::cross_entropy_backward(flat_dlp.data(), weights.data(), 1.0f, n_targets);
    size_t i = 0;
    for (size_t s = 0; s < in.logp.size(); ++s) {
      out.dlogp.emplace_back(flat_dlp.begin() + i, flat_dlp.begin() + i + in.logp[s].size());
      i += in.logp[s].size();
    }
    return out;
  };
  ASSIGN_OR_RETURN(UpdateStats update, trainer.Update(seqs, loss));
  stats.loss = update.loss;
  stats.grad_norm = update.grad_norm;
  stats.lr = update.lr;
  return stats;
}

}  // namespace flywheel::learner
