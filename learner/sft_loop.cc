// JobRunner::RunSft: supervised fine-tuning on prompt -> answer rows (the warm start before RL).
#include <chrono>

#include "common/base/status_macros.h"
#include "learner/job_runner.h"

namespace flywheel::learner {

absl::Status JobRunner::RunSft() {
  using Clock = std::chrono::steady_clock;
  const int64_t B = spec_.prompts_per_step();
  // The job ends at `steps` or after `epochs` passes over the data, whichever comes first.
  const int64_t epoch_steps = (spec_.sft().epochs() * data_->size() + B - 1) / B;
  const int64_t steps = std::min<int64_t>(spec_.steps(), epoch_steps);
  if (step_ == 0 && eval_data_ && !initial_eval_accuracy_) {
    ASSIGN_OR_RETURN(double push, PushPolicy(0));
    (void)push;
    RETURN_IF_ERROR(Evaluate(0, nullptr));
  }
  for (int64_t s = step_ + 1; s <= steps && !aborted(); ++s) {
    const auto t0 = Clock::now();
    std::vector<SftExample> batch;
    int64_t tokens = 0;
    for (int64_t k = (s - 1) * B; k < s * B; ++k) {
      const JobRow& r = data_->At(k);
      batch.push_back({r.prompt_ids, r.target_ids});
      tokens += static_cast<int64_t>(r.target_ids.size());
    }
    ASSIGN_OR_RETURN(StepStats stats, trainer_->SftStep(batch));
    step_ = s;
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    v1::StepMetrics m;
    m.set_step(s);
    m.set_loss(stats.loss);
    m.set_entropy(stats.entropy);
    m.set_grad_norm(stats.grad_norm);
    m.set_lr(stats.lr);
    m.set_update_seconds(seconds);
    m.set_step_seconds(seconds);
    m.set_completion_tokens(tokens);
    m.set_tokens_per_second(tokens / std::max(1e-9, seconds));
    m.set_groups(static_cast<int32_t>(batch.size()));
    // The last step counts as the job's last (eval, checkpoint) even when epochs end it early.
    RETURN_IF_ERROR(FinishStep(s, s * B, /*pushed=*/false, &m, s == steps));
  }
  return absl::OkStatus();
}

}  // namespace flywheel::learner
