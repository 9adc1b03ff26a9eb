#include "learner/algorithms/grpo_step.h"

#include "common/base/status_macros.h"
#include "learner/algorithms/sample_batch.h"
#include "learner/training/sequence_logprobs.h"

namespace flywheel::learner {

absl::StatusOr<StepStats> GrpoStep(PolicyTrainer& trainer, const model::Transformer* reference,
                                   const std::vector<TrainGroup>& groups,
                                   const GrpoOptions& options, int64_t policy_version) {
  if (options.kl_coef > 0 && reference == nullptr) {
    return absl::InvalidArgumentError("GrpoStep: kl_coef > 0 needs a reference model");
  }
  ASSIGN_OR_RETURN(std::vector<TrainSequence> seqs,
                   ToSequences(groups, "GrpoStep", /*need_teacher=*/false));
  const std::vector<const TrainSample*> samples = Flatten(groups);
  std::vector<std::vector<float>> ref;
  if (options.kl_coef > 0) {
    std::vector<ScoredSpan> spans;
    for (const TrainSample* s : samples) spans.push_back({&s->prompt, &s->completion});
    ASSIGN_OR_RETURN(
        ref, SequenceLogprobs(*reference, spans, trainer.micro_batch_size(), trainer.pool()));
  }

  StepStats stats;
  auto loss = [&](const LossInputs& in) -> absl::StatusOr<LossOutputs> {
    std::vector<std::vector<uint8_t>> masks(samples.size());
    std::vector<GroupInput> inputs(groups.size());
    for (size_t g = 0, s = 0; g < groups.size(); ++g) {
      for (size_t i = 0; i < groups[g].size(); ++i, ++s) {
        masks[s].assign(samples[s]->completion.size(), 1);
        CompletionInput c;
        c.reward = samples[s]->reward;
        c.logp = in.logp[s];
        c.logp_old = samples[s]->behaviour_logprobs;
        if (!ref.empty()) c.logp_ref = ref[s];
        c.mask = masks[s];
        inputs[g].push_back(c);
      }
    }
    ASSIGN_OR_RETURN(GrpoResult r, GrpoLoss(inputs, options));
    stats.loss = r.loss;
    stats.kl = r.metrics.mean_kl;
    stats.clip_frac = r.metrics.clip_frac_low + r.metrics.clip_frac_high;
    stats.tokens = r.metrics.num_tokens;
    stats.dropped_groups = r.metrics.num_dropped_groups;
    // Entropy over the loss tokens (kept groups only).
    std::vector<bool> dropped(groups.size(), false);
    for (int g : r.dropped_groups) dropped[g] = true;
    double entropy_sum = 0;
    int64_t entropy_n = 0;
    for (size_t g = 0, s = 0; g < groups.size(); ++g) {
      for (size_t i = 0; i < groups[g].size(); ++i, ++s) {
        if (dropped[g]) continue;
        for (float e : in.entropy[s]) entropy_sum += e;
        entropy_n += static_cast<int64_t>(in.entropy[s].size());
      }
    }
    if (entropy_n > 0) stats.entropy = entropy_sum / static_cast<double>(entropy_n);
    CheckCurrentVersion(samples, in.logp, policy_version, &stats.check);
    return LossOutputs{r.loss, std::move(r.dlogp), /*skip=*/r.metrics.num_tokens == 0};
  };
  RETURN_IF_ERROR(UpdateInto(trainer, seqs, loss, &stats));
  return stats;
}

}  // namespace flywheel::learner
