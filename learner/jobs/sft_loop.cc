// JobRunner::RunSft: supervised fine-tuning on prompt -> answer rows (the warm start before RL).
#include <chrono>

#include "common/base/status_macros.h"
#include "learner/algorithms/sft_step.h"
#include "learner/jobs/job_runner.h"
#include "learner/jobs/step_metrics.h"

namespace flywheel::learner {

absl::Status JobRunner::RunSft() {
  using Clock = std::chrono::steady_clock;
  const int64_t B = spec_.prompts_per_step();
  // The job ends at `steps` or after `epochs` passes over the data, whichever comes first.
  const int64_t epoch_steps = (spec_.sft().epochs() * data_->size() + B - 1) / B;
  const int64_t steps = std::min<int64_t>(spec_.steps(), epoch_steps);
  if (step_ == 0 && eval_data_ && !initial_eval_accuracy_) {
    RETURN_IF_ERROR(PushPolicy(0).status());
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
    ASSIGN_OR_RETURN(StepStats stats, SftStep(*trainer_, batch));
    step_ = s;
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    StepReport report;
    report.step = s;
    report.stats = &stats;
    report.update_seconds = seconds;
    report.step_seconds = seconds;
    report.trained_tokens = tokens;
    report.groups = static_cast<int32_t>(batch.size());
    v1::StepMetrics m = ToStepMetrics(report);
    // The last step counts as the job's last (eval, checkpoint) even when epochs end it early.
    RETURN_IF_ERROR(FinishStep(s, s * B, /*pushed=*/false, &m, s == steps));
  }
  return absl::OkStatus();
}

}  // namespace flywheel::learner
