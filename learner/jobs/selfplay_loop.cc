// JobRunner::RunSelfPlay: self-play rounds (selfplay_round.h), each followed by one update of
// both roles (selfplay_update.h), the weight push, the round's metrics, the collapse monitor, and
// the evals and checkpoints of every job. The set of solved targets is part of the checkpoint, so
// a resumed job continues with the same solved set and round.
#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "learner/algorithms/weighted_likelihood.h"
#include "learner/jobs/job_runner.h"
#include "learner/jobs/job_spec.h"
#include "learner/jobs/selfplay_round.h"
#include "learner/jobs/selfplay_update.h"
#include "learner/jobs/step_metrics.h"

namespace flywheel::learner {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

absl::Status JobRunner::RunSelfPlay() {
  ASSIGN_OR_RETURN(const SelfPlayConfig config, ToSelfPlayConfig(spec_));
  const int64_t P = spec_.prompts_per_step();
  const int64_t steps = spec_.steps();
  RETURN_IF_ERROR(PushPolicy(step_).status());
  if (step_ == 0 && !initial_eval_accuracy_) RETURN_IF_ERROR(Evaluate(0, nullptr));
  const RoundSources sources{rollouts_.get(), rewards_.get(), tokenizer_.get()};
  CollapseMonitor monitor(config);

  for (int64_t s = step_ + 1; s <= steps && !aborted(); ++s) {
    const auto t_start = Clock::now();
    std::vector<const JobRow*> rows;
    for (int64_t k = (s - 1) * P; k < s * P; ++k) rows.push_back(&data_->At(k));
    auto round = RunSelfPlayRound(rows, (s - 1) * P, s, solved_, config, spec_.sampling(),
                                  spec_.seed(), sources, &abort_);
    if (aborted()) break;
    if (!round.ok()) return round.status();
    for (const RoundProblem& p : round->problems) {
      if (p.target && p.correct > 0) solved_.insert(p.target_line);
    }

    const auto t_update = Clock::now();
    const int64_t policy_version = version_base_ + s - 1;
    const SelfPlayUpdate update = PlanSelfPlayUpdate(*round, config);
    StepStats stats;
    stats.skipped = true;
    if (!update.samples.empty()) {
      auto step = WeightedLikelihoodStep(*trainer_, update.samples, policy_version);
      if (!step.ok()) {
        return absl::Status(step.status().code(),
                            absl::StrCat("round ", s, ": ", step.status().message()));
      }
      stats = *step;
    }
    const auto t_push = Clock::now();
    RETURN_IF_ERROR(PushPolicy(s).status());
    step_ = s;
    const auto t_end = Clock::now();

    StepReport report;
    report.step = s;
    report.stats = &stats;
    report.wait_seconds = Seconds(t_start, t_update);
    report.update_seconds = Seconds(t_update, t_push);
    report.push_seconds = Seconds(t_push, t_end);
    report.step_seconds = Seconds(t_start, t_end);
    for (const auto& w : update.samples) {
      report.trained_tokens += static_cast<int64_t>(w.sample.completion.size());
    }
    report.groups = static_cast<int32_t>(round->problems.size());
    report.retries = rollouts_->retries() + rewards_->retries();
    v1::StepMetrics m = ToStepMetrics(report);
    FillSelfPlayMetrics(*round, update, config.attempts, &m);
    m.set_sample_seconds(round->sample_seconds);
    m.set_reward_seconds(round->reward_seconds);
    m.set_targets_solved(static_cast<double>(solved_.size()) / static_cast<double>(data_->size()));
    if (LearnerMetrics* metrics = env_.board->metrics(); metrics != nullptr) {
      metrics->RecordSelfPlay(id_, m);
    }
    if (auto collapse = monitor.Add(m)) {
      if (LearnerMetrics* metrics = env_.board->metrics(); metrics != nullptr) {
        metrics->SetSelfPlayCollapse(id_, true);
      }
      Event(*collapse);
      if (config.stop_on_collapse) {
        RETURN_IF_ERROR(FinishStep(s, s * P, /*pushed=*/true, &m, /*last=*/true));
        return absl::FailedPreconditionError(absl::StrCat(*collapse, " (stop_on_collapse)"));
      }
    }
    RETURN_IF_ERROR(FinishStep(s, s * P, /*pushed=*/true, &m, s == steps));
  }
  return absl::OkStatus();
}

}  // namespace flywheel::learner
