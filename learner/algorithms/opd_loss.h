// The on-policy distillation loss (ALGORITHMS.md sec 2.1 and 2.4) and its gradient with respect
// to the current per-token logprobs.
//
// The student sampled each completion; a teacher scored the same tokens. Per valid token t of
// completion i, with logp_old the sampler's logprob and logp_teacher the teacher's:
//
//   rkl_t = logp_old_t - logp_teacher_t                 (one-sample reverse KL, from the sampler)
//   a_t   = -kl_coef * rkl_t
//   A_t   = sum_{k >= t} kl_discount^(k - t) a_k          (k over valid tokens; discount 0: a_t)
//         + reward_weight * (R_i - mean_j R_j)          (group-centred environment reward; with
//                                                        reward_std_norm, / (std_j R_j + 1e-6))
//   ratio = exp(clamp(logp - logp_old, -20, 20))
//   importance_sampling:  L_t = -A_t * ratio                                   (Tinker's loss)
//   ppo:                  L_t = max(-A_t ratio, -A_t clamp(ratio, 1 - eps_low, 1 + eps_high))
//   L = sum_t L_t / (valid tokens in the batch)
//
// A_t is a constant (computed from the sampler's logprobs, not the learner's), so the gradient is
// the policy-gradient one: dL/dlogp_t = -A_t ratio / N (zero where PPO clips). Tinker sums
// instead of averaging; the token mean keeps the step size independent of the batch's length.
// With reward_weight > 0 and the policy itself as a privileged teacher, this is OPSD: RL reward
// plus beta * reverse KL to the privileged self (beta = kl_coef).
//
// Thread safety: a pure function of its arguments.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "learner/algorithms/advantages.h"

namespace flywheel::learner {

enum class DistillLoss {
  kImportanceSampling,  // -A ratio (default; ratio is 1 on-policy, where this is REINFORCE)
  kPpo,                 // PPO's clipped surrogate with the per-token advantage
};

// "importance_sampling" or "ppo"; InvalidArgument naming the choices otherwise.
absl::StatusOr<DistillLoss> ParseDistillLoss(absl::string_view name);

struct OpdOptions {
  double kl_coef = 1.0;        // >= 0 (Tinker's kl_penalty_coef)
  double kl_discount = 0.0;    // in [0, 1] (Tinker's kl_discount_factor); 0: each token alone
  double reward_weight = 0.0;  // >= 0; 0: pure distillation
  // Divide the centred reward by the group's std (GRPO's advantage) instead of centring only
  // (Tinker's). Groups need >= 2 completions then.
  bool reward_std_norm = false;
  DistillLoss loss = DistillLoss::kImportanceSampling;
  double clip_eps_low = 0.2;  // PPO only, as GrpoOptions
  double clip_eps_high = 0.2;
};

// Every problem with `options`, one line each named as the job spec's distill section does;
// empty when valid. Shared by OpdLoss and the job-spec check.
std::vector<std::string> OpdOptionsProblems(const OpdOptions& options);

// One completion. Spans are borrowed for the call; all have the completion's length T.
struct DistillInput {
  double reward = 0.0;
  absl::Span<const float> logp;          // (T) current policy
  absl::Span<const float> logp_old;      // (T) the sampler's raw logprobs
  absl::Span<const float> logp_teacher;  // (T) the teacher's raw logprobs of the same tokens
  absl::Span<const uint8_t> mask;        // (T) non-zero: the token is in the loss
};
using DistillGroup = std::vector<DistillInput>;  // the completions of one prompt

struct OpdResult {
  double loss = 0.0;
  // dL/dlogp per completion in group-major order, each of length T (0 on masked tokens).
  std::vector<std::vector<float>> dlogp;
  // A_t per completion, same layout (0 on masked tokens).
  std::vector<std::vector<double>> advantages;
  double teacher_kl = 0.0;  // mean rkl_t over valid tokens
  double clip_frac = 0.0;   // PPO: tokens whose gradient the clip cut
  int64_t num_tokens = 0;   // valid tokens
};

// Loss, gradient and metrics of a batch. No valid token gives loss 0 and zero gradients.
// Errors (InvalidArgument, nothing computed): no groups, an empty group, spans of unequal length,
// a non-finite reward or logprob, or options with problems.
absl::StatusOr<OpdResult> OpdLoss(const std::vector<DistillGroup>& groups,
                                  const OpdOptions& options);

}  // namespace flywheel::learner
