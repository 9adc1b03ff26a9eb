#include "learner/jobs/job_spec.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/base/status_macros.h"
#include "learner/tasks/expr_task.h"

namespace flywheel::learner {

namespace v1 = ::flywheel::v1;

void ApplyJobDefaults(v1::JobSpec* spec) {
  v1::GrpoSpec* g = spec->mutable_grpo();
  if (g->group_size() == 0) g->set_group_size(8);
  if (g->policy_loss().empty()) g->set_policy_loss("ppo");
  // Each policy loss's own customary clip range (GSPO's paper; CISPO as SGS runs it).
  const bool gspo = g->policy_loss() == "gspo", cispo = g->policy_loss() == "cispo";
  if (!g->has_clip_eps_low()) g->set_clip_eps_low(gspo ? 3e-4 : cispo ? 1.0 : 0.2);
  if (!g->has_clip_eps_high()) g->set_clip_eps_high(gspo ? 4e-4 : cispo ? 3.0 : 0.2);
  if (g->advantage_norm().empty()) g->set_advantage_norm("mean_std");
  if (g->loss_aggregation().empty()) {
    g->set_loss_aggregation(gspo ? "seq-mean-token-mean" : "token-mean");
  }
  if (g->kl_estimator().empty()) g->set_kl_estimator("k3");
  if (spec->sft().epochs() == 0) spec->mutable_sft()->set_epochs(1);
  v1::DistillSpec* d = spec->mutable_distill();
  if (d->teacher().empty()) d->set_teacher("servers");
  if (!d->has_kl_coef()) d->set_kl_coef(1.0);
  if (d->loss().empty()) d->set_loss("importance_sampling");
  if (d->privileged_template().empty()) d->set_privileged_template("{privileged}\n\n{prompt}");
  v1::OptimizerSpec* o = spec->mutable_optimizer();
  if (!o->has_lr()) o->set_lr(1e-5);
  if (!o->has_beta1()) o->set_beta1(0.9);
  if (!o->has_beta2()) o->set_beta2(0.999);
  if (!o->has_eps()) o->set_eps(1e-8);
  if (!o->has_grad_clip()) o->set_grad_clip(1.0);
  if (o->lr_schedule().empty()) o->set_lr_schedule("constant");
  if (spec->prompts_per_step() == 0) spec->set_prompts_per_step(8);
  if (spec->micro_batch_size() == 0) spec->set_micro_batch_size(8);
  // Self-play's rounds are on-policy: the gate, the solver and the update take turns.
  if (!spec->has_max_async_steps())
    spec->set_max_async_steps(spec->algorithm() == kSelfPlay ? 0 : 1);
  v1::SelfPlaySpec* sp = spec->mutable_selfplay();
  if (sp->attempts() == 0) sp->set_attempts(8);
  if (sp->conjectures_per_target() == 0) sp->set_conjectures_per_target(1);
  if (sp->solver_loss().empty()) sp->set_solver_loss("reinforce_half");
  if (!sp->has_max_solve_rate()) sp->set_max_solve_rate(0.5);
  if (!sp->has_too_easy_percentile()) sp->set_too_easy_percentile(0.7);
  if (!sp->has_length_penalty_start()) sp->set_length_penalty_start(0.8);
  if (sp->guide().empty()) sp->set_guide("none");
  if (sp->solver_template().empty()) sp->set_solver_template(kDefaultSolverTemplate);
  if (sp->conjecture_template().empty()) sp->set_conjecture_template(kDefaultConjectureTemplate);
  if (sp->conjecture_ops().empty()) sp->set_conjecture_ops("+-*");
  if (sp->conjecture_max_digits() == 0) sp->set_conjecture_max_digits(3);
  if (sp->conjecture_max_ops() == 0) sp->set_conjecture_max_ops(4);
  if (sp->conjecture_max_chars() == 0) sp->set_conjecture_max_chars(48);
  if (sp->conjecture_max_value() == 0) sp->set_conjecture_max_value(1000000);
  if (!sp->has_conjecturer_weight()) sp->set_conjecturer_weight(1.0);
  if (sp->collapse_window() == 0) sp->set_collapse_window(5);
  if (spec->async_mode().empty()) spec->set_async_mode(kAsyncExact);
  if (spec->eval_interval() == 0) spec->set_eval_interval(10);
  if (spec->checkpoint_interval() == 0) spec->set_checkpoint_interval(10);
  if (spec->chat_template().empty()) spec->set_chat_template("auto");
  if (spec->request_timeout_seconds() == 0) spec->set_request_timeout_seconds(120);
  if (spec->max_server_outage_seconds() == 0) spec->set_max_server_outage_seconds(300);
  v1::SamplingParams* s = spec->mutable_sampling();
  if (!s->has_temperature()) s->set_temperature(1.0f);
  if (!s->has_top_p()) s->set_top_p(1.0f);
  // RL samples from the model's full distribution unless the spec says otherwise: a checkpoint's
  // generation_config.json (top_k 20 for Qwen3) would otherwise truncate it on the server.
  if (!s->has_top_k()) s->set_top_k(0);
  if (!s->has_min_p()) s->set_min_p(0.0f);
  if (spec->reference_model_dir().empty()) spec->set_reference_model_dir(spec->policy_model_dir());
}

bool IsRlAlgorithm(const std::string& algorithm) { return algorithm == kGrpo || algorithm == kOpd; }

bool SelfTeacher(const v1::JobSpec& spec) { return spec.distill().teacher() == "self"; }

absl::StatusOr<OptimizerOptions> ToOptimizerOptions(const v1::JobSpec& spec) {
  const v1::OptimizerSpec& o = spec.optimizer();
  OptimizerOptions opt;
  opt.schedule.lr = o.lr();
  opt.schedule.warmup_steps = o.warmup_steps();
  RETURN_IF_ERROR(ParseLrDecay(o.lr_schedule(), &opt.schedule.decay));
  opt.schedule.total_steps = spec.steps();
  opt.schedule.min_lr_ratio = o.min_lr_ratio();
  opt.beta1 = o.beta1();
  opt.beta2 = o.beta2();
  opt.eps = o.eps();
  opt.weight_decay = o.weight_decay();
  opt.grad_clip = o.grad_clip();
  return opt;
}

absl::StatusOr<GrpoOptions> ToGrpoOptions(const v1::JobSpec& spec) {
  const v1::GrpoSpec& g = spec.grpo();
  GrpoOptions o;
  ASSIGN_OR_RETURN(o.advantage.normalize_by_std, ParseAdvantageNorm(g.advantage_norm()));
  ASSIGN_OR_RETURN(o.aggregation, ParseLossAggregation(g.loss_aggregation()));
  ASSIGN_OR_RETURN(o.policy_loss, ParsePolicyLoss(g.policy_loss()));
  ASSIGN_OR_RETURN(o.kl_estimator, ParseKlEstimator(g.kl_estimator()));
  o.dual_clip_c = g.dual_clip_c();
  o.clip_eps_low = g.clip_eps_low();
  o.clip_eps_high = g.clip_eps_high();
  o.kl_coef = g.kl_coef();
  // Dr. GRPO's divisor: every token the step could have produced.
  o.constant_normalizer = static_cast<double>(spec.prompts_per_step()) * g.group_size() *
                          std::max(1, spec.sampling().max_tokens());
  o.drop_equal_reward_groups = g.drop_equal_reward_groups();
  o.tis_cap = g.tis_cap();
  return o;
}

absl::StatusOr<OpdOptions> ToOpdOptions(const v1::JobSpec& spec) {
  const v1::DistillSpec& d = spec.distill();
  OpdOptions o;
  o.kl_coef = d.kl_coef();
  o.kl_discount = d.kl_discount();
  o.reward_weight = d.reward_weight();
  o.reward_std_norm = d.reward_std_norm();
  ASSIGN_OR_RETURN(o.loss, ParseDistillLoss(d.loss()));
  o.clip_eps_low = spec.grpo().clip_eps_low();
  o.clip_eps_high = spec.grpo().clip_eps_high();
  return o;
}

absl::StatusOr<SelfPlayConfig> ToSelfPlayConfig(const v1::JobSpec& spec) {
  const v1::SelfPlaySpec& s = spec.selfplay();
  SelfPlayConfig c;
  c.attempts = s.attempts();
  c.conjectures_per_target = s.conjectures_per_target();
  if (s.solver_loss() != "reinforce_half" && s.solver_loss() != "grpo") {
    return absl::InvalidArgumentError(absl::StrCat(
        "solver_loss must be \"reinforce_half\" or \"grpo\", got \"", s.solver_loss(), "\""));
  }
  c.solver_grpo = s.solver_loss() == "grpo";
  c.rewards.max_solve_rate = s.max_solve_rate();
  c.rewards.too_easy_percentile = s.too_easy_percentile();
  c.rewards.length_penalty_start = s.length_penalty_start();
  c.conjecturer_weight = s.conjecturer_weight();
  if (s.guide() != "none" && s.guide() != "rubric") {
    return absl::InvalidArgumentError(
        absl::StrCat("guide must be \"none\" or \"rubric\", got \"", s.guide(), "\""));
  }
  if (s.guide() == "rubric") c.guide_rubric_json = s.guide_rubric_json();
  c.solver_template = s.solver_template();
  c.conjecture_template = s.conjecture_template();
  c.gate_ops = s.conjecture_ops();
  c.gate_max_digits = s.conjecture_max_digits();
  c.gate_max_ops = s.conjecture_max_ops();
  c.gate_max_chars = s.conjecture_max_chars();
  c.gate_max_value = s.conjecture_max_value();
  c.min_valid_rate = s.min_valid_rate();
  c.min_distinct_fraction = s.min_distinct_fraction();
  c.min_entropy = s.min_entropy();
  c.collapse_window = s.collapse_window();
  c.stop_on_collapse = s.stop_on_collapse();
  return c;
}

std::string PrivilegedPrompt(const std::string& privileged_template, const std::string& privileged,
                             const std::string& prompt) {
  return absl::StrReplaceAll(privileged_template,
                             {{"{privileged}", privileged}, {"{prompt}", prompt}});
}

}  // namespace flywheel::learner
