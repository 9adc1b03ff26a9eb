#include "learner/algorithms/opd_step.h"

#include "common/base/status_macros.h"
#include "learner/algorithms/sample_batch.h"

namespace flywheel::learner {

absl::StatusOr<StepStats> OpdStep(PolicyTrainer& trainer, const std::vector<TrainGroup>& groups,
                                  const OpdOptions& options, int64_t policy_version) {
  ASSIGN_OR_RETURN(std::vector<TrainSequence> seqs,
                   ToSequences(groups, "OpdStep", /*need_teacher=*/true));
  const std::vector<const TrainSample*> samples = Flatten(groups);
  StepStats stats;
  auto loss = [&](const LossInputs& in) -> absl::StatusOr<LossOutputs> {
    std::vector<std::vector<uint8_t>> masks(samples.size());
    std::vector<DistillGroup> inputs(groups.size());
    double entropy_sum = 0;
    for (size_t g = 0, s = 0; g < groups.size(); ++g) {
      for (size_t i = 0; i < groups[g].size(); ++i, ++s) {
        masks[s].assign(samples[s]->completion.size(), 1);
        DistillInput c;
        c.reward = samples[s]->reward;
        c.logp = in.logp[s];
        c.logp_old = samples[s]->behaviour_logprobs;
        c.logp_teacher = samples[s]->teacher_logprobs;
        c.mask = masks[s];
        inputs[g].push_back(c);
        for (float e : in.entropy[s]) entropy_sum += e;
      }
    }
    ASSIGN_OR_RETURN(OpdResult r, OpdLoss(inputs, options));
    stats.loss = r.loss;
    stats.teacher_kl = r.teacher_kl;
    stats.clip_frac = r.clip_frac;
    stats.tokens = r.num_tokens;
    if (r.num_tokens > 0) stats.entropy = entropy_sum / static_cast<double>(r.num_tokens);
    CheckCurrentVersion(samples, in.logp, policy_version, &stats.check);
    return LossOutputs{r.loss, std::move(r.dlogp), /*skip=*/r.num_tokens == 0};
  };
  RETURN_IF_ERROR(UpdateInto(trainer, seqs, loss, &stats));
  return stats;
}

}  // namespace flywheel::learner
