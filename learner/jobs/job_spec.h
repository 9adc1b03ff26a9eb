// A job spec's one set of rules: the defaults documented in learner.proto, and the conversion of a
// spec into the options of the trainer and the losses. The job-spec check (job_spec_check.h)
// validates through these same conversions, so what SubmitJob accepts is exactly what a job runs
// with.
//
// Thread safety: free functions of their arguments.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "flywheel/v1/learner.pb.h"
#include "learner/algorithms/grpo_loss.h"
#include "learner/algorithms/opd_loss.h"
#include "learner/jobs/selfplay_config.h"
#include "learner/training/policy_trainer.h"

namespace flywheel::learner {

// Fills every unset field with its documented default (group_size 8, policy_loss "ppo" with clip
// 0.2 / 0.2 and "token-mean" (gspo: 3e-4 / 4e-4 and "seq-mean-token-mean"; cispo: 1 / 3),
// "mean_std", kl_estimator "k3", lr 1e-5, betas 0.9 / 0.999, eps 1e-8, grad_clip 1, lr_schedule
// "constant", prompts_per_step 8, micro_batch_size 8, max_async_steps 1 (selfplay 0), async_mode
// "exact", eval_interval 10, checkpoint_interval 10, chat_template "auto" (the checkpoint's own,
// else chatml), request_timeout_seconds 120, max_server_outage_seconds 300, sft.epochs 1,
// temperature 1, top_p 1, top_k 0, min_p 0 (the full distribution, whatever
// generation_config.json says), reference_model_dir =
// policy_model_dir; distill: teacher "servers", kl_coef 1, loss
// "importance_sampling", privileged_template "{privileged}\n\n{prompt}"). Fields that are set
// keep their values; a proto3 scalar without `optional` counts as unset when it is 0 or empty.
void ApplyJobDefaults(flywheel::v1::JobSpec* spec);

// The algorithm names a spec may give.
inline constexpr char kGrpo[] = "grpo";
inline constexpr char kOpd[] = "opd";
inline constexpr char kSft[] = "sft";
inline constexpr char kSelfPlay[] = "selfplay";
// The async_mode names (see learner.proto).
inline constexpr char kAsyncExact[] = "exact";
inline constexpr char kAsyncInFlight[] = "in_flight";
// Algorithms that sample from rollout servers and update on the samples.
bool IsRlAlgorithm(const std::string& algorithm);
// teacher "self": the policy with privileged context.
bool SelfTeacher(const flywheel::v1::JobSpec& spec);

// The trainer's optimizer options (InvalidArgument for an unknown lr_schedule). Range problems
// are not checked here: see OptimizerProblems.
absl::StatusOr<OptimizerOptions> ToOptimizerOptions(const flywheel::v1::JobSpec& spec);
// The GRPO loss options (InvalidArgument for an unknown advantage_norm or loss_aggregation).
absl::StatusOr<GrpoOptions> ToGrpoOptions(const flywheel::v1::JobSpec& spec);
// The distillation loss options (InvalidArgument for an unknown loss).
absl::StatusOr<OpdOptions> ToOpdOptions(const flywheel::v1::JobSpec& spec);
// The self-play settings (InvalidArgument for an unknown solver_loss or guide).
absl::StatusOr<SelfPlayConfig> ToSelfPlayConfig(const flywheel::v1::JobSpec& spec);

// The teacher's prompt text for a row: privileged_template with "{privileged}" and "{prompt}"
// replaced (each occurrence, left to right).
std::string PrivilegedPrompt(const std::string& privileged_template, const std::string& privileged,
                             const std::string& prompt);

}  // namespace flywheel::learner
