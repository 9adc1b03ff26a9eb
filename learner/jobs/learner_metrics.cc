#include "learner/jobs/learner_metrics.h"

#include <string>
#include <utility>

namespace flywheel::learner {
namespace {

struct StepGauge {
  const char* name;
  const char* help;
  double (*get)(const v1::StepMetrics&);
};

// Names follow Prometheus conventions: base units, no _total on gauges.
const StepGauge kStepGauges[] = {
    {"flywheel_learner_reward_mean", "Mean reward of the step's completions",
     [](const v1::StepMetrics& m) { return m.reward_mean(); }},
    {"flywheel_learner_reward_std", "Standard deviation of the step's rewards",
     [](const v1::StepMetrics& m) { return m.reward_std(); }},
    {"flywheel_learner_pass_rate", "Fraction of the step's completions judged correct",
     [](const v1::StepMetrics& m) { return m.pass_rate(); }},
    {"flywheel_learner_loss", "Training loss of the step",
     [](const v1::StepMetrics& m) { return m.loss(); }},
    {"flywheel_learner_kl", "Mean k3 KL to the reference over the step's tokens",
     [](const v1::StepMetrics& m) { return m.kl(); }},
    {"flywheel_learner_entropy", "Mean policy entropy over the step's tokens (nats)",
     [](const v1::StepMetrics& m) { return m.entropy(); }},
    {"flywheel_learner_clip_fraction", "Fraction of tokens whose PPO ratio was clipped",
     [](const v1::StepMetrics& m) { return m.clip_frac(); }},
    {"flywheel_learner_grad_norm", "Global gradient L2 norm before clipping",
     [](const v1::StepMetrics& m) { return m.grad_norm(); }},
    {"flywheel_learner_learning_rate", "Learning rate of the step",
     [](const v1::StepMetrics& m) { return m.lr(); }},
    {"flywheel_learner_logprob_diff_max",
     "Largest |rollout logprob - learner logprob| over checked tokens (expected 0)",
     [](const v1::StepMetrics& m) { return m.logprob_diff_max(); }},
    {"flywheel_learner_logprob_diff_mean",
     "Mean |rollout logprob - learner logprob| over checked tokens (expected 0)",
     [](const v1::StepMetrics& m) { return m.logprob_diff_mean(); }},
    {"flywheel_learner_logprob_tokens_checked", "Completion tokens whose logprob was re-checked",
     [](const v1::StepMetrics& m) { return static_cast<double>(m.logprob_tokens_checked()); }},
    {"flywheel_learner_staleness_max", "Most weight versions between sampling and update",
     [](const v1::StepMetrics& m) { return static_cast<double>(m.staleness_max()); }},
    {"flywheel_learner_staleness_mean", "Mean weight versions between sampling and update",
     [](const v1::StepMetrics& m) { return m.staleness_mean(); }},
    {"flywheel_learner_tokens_per_second", "Trained tokens per second of step time",
     [](const v1::StepMetrics& m) { return m.tokens_per_second(); }},
    {"flywheel_learner_step", "Latest completed step",
     [](const v1::StepMetrics& m) { return static_cast<double>(m.step()); }},
    {"flywheel_learner_dropped_groups", "Groups left out of the step's loss (equal rewards)",
     [](const v1::StepMetrics& m) { return static_cast<double>(m.dropped_groups()); }},
    {"flywheel_learner_teacher_kl",
     "Distillation: mean sampled reverse KL log p_student - log p_teacher over the step's tokens",
     [](const v1::StepMetrics& m) { return m.teacher_kl(); }},
    {"flywheel_learner_completion_length_mean_tokens", "Mean completion length of the step",
     [](const v1::StepMetrics& m) { return m.completion_length_mean(); }},
    {"flywheel_learner_completion_length_p95_tokens",
     "95th percentile completion length of the step",
     [](const v1::StepMetrics& m) { return m.completion_length_p95(); }},
    {"flywheel_learner_truncation_rate",
     "Fraction of the step's completions cut off by max_tokens or the context",
     [](const v1::StepMetrics& m) { return m.truncation_rate(); }},
    {"flywheel_learner_format_failure_rate",
     "Fraction of the step's completions whose answer the verifier could not read",
     [](const v1::StepMetrics& m) { return m.format_failure_rate(); }},
    {"flywheel_learner_rollout_servers", "Rollout servers serving the job",
     [](const v1::StepMetrics& m) { return static_cast<double>(m.rollout_servers()); }},
};

}  // namespace

LearnerMetrics::LearnerMetrics(metrics::MetricsServer* server) {
  auto& reg = server->registry();
  for (const StepGauge& g : kStepGauges) {
    step_gauges_.push_back(&prometheus::BuildGauge().Name(g.name).Help(g.help).Register(reg));
  }
  phase_seconds_ = &prometheus::BuildGauge()
                        .Name("flywheel_learner_step_phase_seconds")
                        .Help(
                            "Wall time of the latest step by phase: on the learner wait (for "
                            "the batch), update (forward/backward/optimizer) and push (weights); "
                            "on the batch producer sample, reward and teacher (distillation), "
                            "which overlap the learner's phases when the job is asynchronous")
                        .Register(reg);
  rubric_disagreement_ = &prometheus::BuildGauge()
                              .Name("flywheel_learner_rubric_disagreement_rate")
                              .Help(
                                  "Fraction of rubric items whose rule-checked and judged "
                                  "criteria disagree (only steps with such items)")
                              .Register(reg);
  eval_accuracy_ = &prometheus::BuildGauge()
                        .Name("flywheel_learner_eval_accuracy")
                        .Help("Latest held-out accuracy (greedy decoding)")
                        .Register(reg);
  job_state_ = &prometheus::BuildGauge()
                    .Name("flywheel_learner_job_state")
                    .Help("1 for the job's current state, 0 for the others")
                    .Register(reg);
  steps_total_ = &prometheus::BuildCounter()
                      .Name("flywheel_learner_steps_total")
                      .Help("Optimizer steps completed")
                      .Register(reg);
  tokens_total_ = &prometheus::BuildCounter()
                       .Name("flywheel_learner_trained_tokens_total")
                       .Help("Completion (GRPO) or target (SFT) tokens trained on")
                       .Register(reg);
  selfplay_ = &prometheus::BuildGauge()
                   .Name("flywheel_learner_selfplay")
                   .Help(
                       "Self-play's latest round by `what`: targets_solved (the fraction of the "
                       "dataset's targets solved at least once), conjectures written, "
                       "conjecture_valid_rate (passed the gate), "
                       "conjecture_distinct_fraction, solver_trained and conjecturer_trained "
                       "(sequences trained on by role)")
                   .Register(reg);
  rejections_ = &prometheus::BuildGauge()
                     .Name("flywheel_learner_conjecture_rejections")
                     .Help("Conjectures the gate rejected in the latest round, by reason")
                     .Register(reg);
  solve_histogram_ = &prometheus::BuildGauge()
                          .Name("flywheel_learner_conjecture_solve_count")
                          .Help(
                              "Valid conjectures of the latest round solved `solved` times out "
                              "of the job's attempts")
                          .Register(reg);
  collapse_ = &prometheus::BuildGauge()
                   .Name("flywheel_learner_selfplay_collapse")
                   .Help("1 while the self-play collapse monitor reports a collapse")
                   .Register(reg);
  retries_total_ = &prometheus::BuildCounter()
                        .Name("flywheel_learner_request_retries_total")
                        .Help("Requests retried on another replica after a server failed")
                        .Register(reg);
}

std::string LearnerMetrics::TenantOf(const std::string& job) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tenants_.find(job);
  return it == tenants_.end() ? std::string() : it->second;
}

void LearnerMetrics::RecordStep(const std::string& job, const std::string& algorithm,
                                const v1::StepMetrics& m) {
  const std::string tenant = TenantOf(job);
  for (size_t i = 0; i < step_gauges_.size(); ++i) {
    step_gauges_[i]
        ->Add({{"job_id", job}, {"tenant", tenant}, {"algorithm", algorithm}})
        .Set(kStepGauges[i].get(m));
  }
  if (m.has_rubric_disagreement()) {
    rubric_disagreement_->Add({{"job_id", job}, {"tenant", tenant}, {"algorithm", algorithm}})
        .Set(m.rubric_disagreement());
  }
  const std::pair<const char*, double> phases[] = {
      {"wait", m.wait_seconds()},     {"update", m.update_seconds()},
      {"push", m.push_seconds()},     {"sample", m.sample_seconds()},
      {"reward", m.reward_seconds()}, {"teacher", m.teacher_seconds()}};
  for (const auto& [phase, seconds] : phases) {
    phase_seconds_->Add({{"job_id", job}, {"tenant", tenant}, {"phase", phase}}).Set(seconds);
  }
  steps_total_->Add({{"job_id", job}, {"tenant", tenant}}).Increment();
  tokens_total_->Add({{"job_id", job}, {"tenant", tenant}})
      .Increment(static_cast<double>(m.completion_tokens()));
}

void LearnerMetrics::RecordSelfPlay(const std::string& job, const v1::StepMetrics& m) {
  const std::pair<const char*, double> values[] = {
      {"targets_solved", m.targets_solved()},
      {"conjectures", static_cast<double>(m.conjectures())},
      {"conjecture_valid_rate", m.conjecture_valid_rate()},
      {"conjecture_distinct_fraction", m.conjecture_distinct_fraction()},
      {"solver_trained", static_cast<double>(m.solver_trained())},
      {"conjecturer_trained", static_cast<double>(m.conjecturer_trained())},
  };
  const std::string tenant = TenantOf(job);
  for (const auto& [what, value] : values)
    selfplay_->Add({{"job_id", job}, {"tenant", tenant}, {"what", what}}).Set(value);
  for (const auto& [reason, count] : m.conjecture_rejections()) {
    rejections_->Add({{"job_id", job}, {"tenant", tenant}, {"reason", reason}}).Set(count);
  }
  for (int j = 0; j < m.conjecture_solve_histogram_size(); ++j) {
    solve_histogram_->Add({{"job_id", job}, {"tenant", tenant}, {"solved", std::to_string(j)}})
        .Set(m.conjecture_solve_histogram(j));
  }
}

void LearnerMetrics::SetSelfPlayCollapse(const std::string& job, bool collapsed) {
  collapse_->Add({{"job_id", job}, {"tenant", TenantOf(job)}}).Set(collapsed ? 1.0 : 0.0);
}

void LearnerMetrics::RecordEval(const std::string& job, double accuracy) {
  eval_accuracy_->Add({{"job_id", job}, {"tenant", TenantOf(job)}}).Set(accuracy);
}

void LearnerMetrics::CountRetries(const std::string& job, const std::string& kind, int64_t n) {
  if (n <= 0) return;
  retries_total_->Add({{"job_id", job}, {"tenant", TenantOf(job)}, {"kind", kind}})
      .Increment(static_cast<double>(n));
}

void LearnerMetrics::SetJobState(const v1::Job& job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    tenants_[job.id()] = job.tenant();
  }
  for (int s = v1::JOB_STATE_QUEUED; s <= v1::JOB_STATE_CANCELLED; ++s) {
    const std::string name = v1::JobState_Name(static_cast<v1::JobState>(s));
    job_state_->Add({{"job_id", job.id()}, {"tenant", job.tenant()}, {"state", name}})
        .Set(s == job.state() ? 1.0 : 0.0);
  }
}

}  // namespace flywheel::learner
