#include "learner/jobs/step_metrics.h"

#include <algorithm>

namespace flywheel::learner {

v1::StepMetrics ToStepMetrics(const StepReport& r) {
  const StepStats& s = *r.stats;
  v1::StepMetrics m;
  m.set_step(r.step);
  m.set_loss(s.loss);
  m.set_kl(s.kl);
  m.set_entropy(s.entropy);
  m.set_clip_frac(s.clip_frac);
  m.set_grad_norm(s.grad_norm);
  m.set_lr(s.lr);
  m.set_teacher_kl(s.teacher_kl);
  m.set_dropped_groups(s.dropped_groups);
  m.set_logprob_diff_max(s.check.max());
  m.set_logprob_diff_mean(s.check.mean());
  m.set_logprob_tokens_checked(s.check.tokens());
  if (r.batch != nullptr) {
    const Batch& b = *r.batch;
    m.set_reward_mean(b.reward_mean);
    m.set_reward_std(b.reward_std);
    m.set_pass_rate(b.pass_rate);
    m.set_reward_errors(b.reward_errors);
    m.set_sample_seconds(b.sample_seconds);
    m.set_reward_seconds(b.reward_seconds);
    m.set_teacher_seconds(b.teacher_seconds);
    m.set_completion_length_mean(b.health.length_mean);
    m.set_completion_length_p95(b.health.length_p95);
    m.set_truncation_rate(b.health.truncation_rate);
    m.set_format_failure_rate(b.health.format_failure_rate);
    if (b.health.rubric_disagreement) m.set_rubric_disagreement(*b.health.rubric_disagreement);
  }
  m.set_rollout_servers(r.rollout_servers);
  m.set_staleness_max(r.staleness.max);
  m.set_staleness_mean(r.staleness.mean);
  m.set_wait_seconds(r.wait_seconds);
  m.set_update_seconds(r.update_seconds);
  m.set_push_seconds(r.push_seconds);
  m.set_step_seconds(r.step_seconds);
  m.set_completion_tokens(r.trained_tokens);
  m.set_tokens_per_second(static_cast<double>(r.trained_tokens) / std::max(1e-9, r.step_seconds));
  m.set_groups(r.groups);
  m.set_retries(r.retries);
  return m;
}

}  // namespace flywheel::learner
