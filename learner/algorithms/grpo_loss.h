// The GRPO family's policy loss and its gradient with respect to the current per-token logprobs.
//
// Formulas and defaults: docs/algorithms.md (verl's core_algos is the reference implementation
// they are checked against, tests/reference/grpo_ref.py). Per valid token of completion i, with
// A_i from advantages.h:
//
//   ratio = exp(clamp(logp - logp_old, -20, 20))
//   ppo:   L_pg = max(-A ratio, -A clamp(ratio, 1 - eps_low, 1 + eps_high))     (clip-higher)
//          with dual clip c > 1: L_pg = min(L_pg, -A c) where A < 0
//   gspo:  the same with ratio := s_i = exp(mean_t (logp - logp_old)) (GSPO, sequence level;
//          aggregated seq-mean-token-mean)
//   cispo: L_pg = -sg(clamp(ratio, 1 - eps_low, 1 + eps_high)) A logp  (CISPO: clipped weight)
//   w     = min(exp(clamp(logp_old - logp_rollout, -20, 20)), tis_cap)         (TIS, constant)
//   L     = w L_pg + kl_coef KL,  KL one of k1, k2, k3 (kl_estimators.h; k3 is GRPO's)
//
// KL is in the loss, per token, as GRPO does (not subtracted from the reward), and it is
// aggregated with the same mode as the policy term (verl). The result is a loss to minimise and
// dL/dlogp per token, which is what Transformer::Backward takes; nothing here touches a model.
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
#include "learner/algorithms/kl_estimators.h"

namespace flywheel::learner {

// How per-token losses become one scalar (ALGORITHMS.md sec 1.4); m is the mask, n_i = sum_t m.
enum class LossAggregation {
  // sum_{i,t} m L / sum_{i,t} m over the whole batch (DAPO, verl's default).
  kTokenMean,
  // (1/B') sum_i sum_t m L / n_i, B' = completions with n_i >= 1 (original GRPO).
  kSeqMeanTokenMean,
  // sum_{i,t} m L / constant_normalizer, e.g. groups * G * max_tokens (Dr. GRPO).
  kConstant,
};

// The policy term (ALGORITHMS.md sec 1.2, 1.7, 1.8).
enum class PolicyLoss {
  kPpo,    // the clipped surrogate, per token (GRPO, DAPO)
  kGspo,   // the clipped surrogate on the sequence's geometric-mean ratio (GSPO)
  kCispo,  // REINFORCE with a clipped, detached importance weight (CISPO)
};

struct GrpoOptions {
  AdvantageOptions advantage;  // std normalisation on, unbiased std, eps 1e-6 (verl).
  PolicyLoss policy_loss = PolicyLoss::kPpo;
  // Clip range [1 - clip_eps_low, 1 + clip_eps_high] of the ratio (ppo, gspo) or of the weight
  // (cispo). Symmetric 0.2 is verl's default; DAPO's clip-higher is 0.2 / 0.28; GSPO's paper
  // uses 3e-4 / 4e-4; CISPO commonly 1 / 3 (a weight in [0, 4]). Need 0 <= low < 1 (<= 1 for
  // cispo) and high >= 0.
  double clip_eps_low = 0.2;
  double clip_eps_high = 0.2;
  // Dual clip's c (ppo only): > 1 enables it, 0 disables it (default). verl's clip_ratio_c is 3.
  double dual_clip_c = 0.0;
  // beta of the KL term; 0 disables it (verl and DAPO default to no KL; DeepSeekMath 0.04).
  double kl_coef = 0.0;
  KlEstimator kl_estimator = KlEstimator::kK3;
  LossAggregation aggregation = LossAggregation::kTokenMean;
  // The divisor of kConstant; must be > 0 in that mode, ignored otherwise.
  double constant_normalizer = 0.0;
  // DAPO dynamic sampling: a group of >= 2 completions whose rewards are all equal (exact ==) is
  // left out of the loss and of every normaliser, and reported in GrpoResult::dropped_groups.
  // Groups of one completion are kept (DAPO). false keeps such groups: their advantage is 0 but
  // their tokens still dilute token-mean and carry the KL term (ALGORITHMS.md sec 1.11).
  bool drop_equal_reward_groups = false;
  // Truncated importance sampling cap C (> 0 enables it; verl's usual value is 2.0). Needs
  // logp_rollout. flywheel's rollout logprobs are bitwise equal to the trainer's, so w == 1
  // there; the option exists for engines that differ.
  double tis_cap = 0.0;
};

// One completion. Spans are borrowed for the duration of the call; every non-empty span has the
// same length T (the completion's logprob positions, prompt positions masked out or absent).
struct CompletionInput {
  double reward = 0.0;
  absl::Span<const float> logp;          // (T) current policy, from the model forward.
  absl::Span<const float> logp_old;      // (T) behaviour policy, from the rollout server.
  absl::Span<const float> logp_ref;      // (T) reference; needed if kl_coef > 0, else metric only.
  absl::Span<const float> logp_rollout;  // (T) rollout engine; required iff tis_cap > 0.
  absl::Span<const uint8_t> mask;        // (T) non-zero: the token is in the loss.
};

// The G completions sampled for one prompt.
using GroupInput = std::vector<CompletionInput>;

// Per-batch metrics. Token means are over valid tokens of kept groups, whatever the aggregation.
struct GrpoMetrics {
  double clip_frac_low = 0.0;   // A < 0 and ratio < 1 - eps_low: gradient clipped to zero.
  double clip_frac_high = 0.0;  // A > 0 and ratio > 1 + eps_high: gradient clipped to zero.
  double mean_kl = 0.0;         // mean KL estimate; 0 when no logp_ref was given.
  double mean_advantage = 0.0;  // token-weighted mean of A.
  int64_t num_tokens = 0;       // valid tokens in kept groups.
  int num_dropped_groups = 0;
};

struct GrpoResult {
  double loss = 0.0;
  // dL/dlogp, one vector per completion in group-major order (group 0's completions, then group
  // 1's, ...), each of length T. Zero on masked tokens and in dropped groups. float because that
  // is what Transformer::Backward takes; computed in double.
  std::vector<std::vector<float>> dlogp;
  std::vector<double> advantages;   // A_i per completion, same order; 0 in dropped groups.
  std::vector<int> dropped_groups;  // indices into the groups argument, ascending.
  GrpoMetrics metrics;
};

// "ppo", "gspo" or "cispo"; InvalidArgument naming the choices otherwise.
absl::StatusOr<PolicyLoss> ParsePolicyLoss(absl::string_view name);
// "token-mean", "seq-mean-token-mean" or "constant"; InvalidArgument naming the choices otherwise.
absl::StatusOr<LossAggregation> ParseLossAggregation(absl::string_view name);
// "mean_std" (GRPO: divide by the group's std) -> true, "mean" (Dr. GRPO) -> false;
// InvalidArgument otherwise.
absl::StatusOr<bool> ParseAdvantageNorm(absl::string_view name);

// Every problem with `options`, one line each naming the field as the job spec's grpo section
// does ("clip_eps_low must be in [0, 1), got 1"); empty when valid. GrpoLoss and the job-spec
// check share this one definition.
std::vector<std::string> GrpoOptionsProblems(const GrpoOptions& options);

// Loss, gradient and metrics of a batch of groups.
//
// If every group is dropped (or no token is valid) the loss and all gradients are 0, not an error:
// the learner skips the step. Errors (InvalidArgument, nothing computed): no groups; an empty
// group; G == 1 with std normalisation; span lengths that differ within a completion; a missing
// logp_ref / logp_rollout that the options need; a non-finite reward or logprob (any position,
// masked or not: a NaN anywhere means the producer is broken); options out of range.
absl::StatusOr<GrpoResult> GrpoLoss(const std::vector<GroupInput>& groups,
                                    const GrpoOptions& options);

}  // namespace flywheel::learner
