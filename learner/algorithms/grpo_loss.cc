// GRPO loss and dL/dlogp; see grpo_loss.h for the formulas.
//
// The gradient is written out by hand rather than derived by a framework, so every branch below
// mirrors how PyTorch's autograd treats the same expression in verl (tests/reference/grpo_ref.py):
// clamp passes the gradient inside its closed range and blocks it outside, and max() of two equal
// values gives each half, which here always sums to the unclipped gradient.
#include "learner/algorithms/grpo_loss.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/status_macros.h"
#include "learner/algorithms/surrogate.h"

namespace flywheel::learner {
namespace {

absl::Status CheckOptions(const GrpoOptions& o) {
  std::vector<std::string> problems = GrpoOptionsProblems(o);
  if (problems.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("GrpoLoss: ", absl::StrJoin(problems, "; ")));
}

absl::Status CheckSpan(absl::Span<const float> s, size_t t, const char* name, size_t group,
                       size_t index) {
  if (s.size() != t) {
    return absl::InvalidArgumentError(absl::StrCat("GrpoLoss: group ", group, " completion ", index,
                                                   ": ", name, " has ", s.size(),
                                                   " entries, logp has ", t));
  }
  for (size_t k = 0; k < t; ++k) {
    if (!std::isfinite(s[k])) {
      return absl::InvalidArgumentError(absl::StrCat("GrpoLoss: group ", group, " completion ",
                                                     index, ": ", name, "[", k, "] = ", s[k]));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckCompletion(const CompletionInput& c, const GrpoOptions& o, size_t group,
                             size_t index) {
  const size_t t = c.logp.size();
  RETURN_IF_ERROR(CheckSpan(c.logp, t, "logp", group, index));
  RETURN_IF_ERROR(CheckSpan(c.logp_old, t, "logp_old", group, index));
  // logp_ref may be given without kl_coef, for the mean_kl metric alone.
  if (o.kl_coef > 0 || !c.logp_ref.empty()) {
    RETURN_IF_ERROR(CheckSpan(c.logp_ref, t, "logp_ref", group, index));
  }
  if (o.tis_cap > 0) RETURN_IF_ERROR(CheckSpan(c.logp_rollout, t, "logp_rollout", group, index));
  if (c.mask.size() != t) {
    return absl::InvalidArgumentError(absl::StrCat("GrpoLoss: group ", group, " completion ", index,
                                                   ": mask has ", c.mask.size(),
                                                   " entries, logp has ", t));
  }
  return absl::OkStatus();
}

int64_t ValidTokens(const CompletionInput& c) {
  int64_t n = 0;
  for (uint8_t m : c.mask) n += m != 0;
  return n;
}

}  // namespace

absl::StatusOr<PolicyLoss> ParsePolicyLoss(absl::string_view name) {
  if (name == "ppo") return PolicyLoss::kPpo;
  if (name == "gspo") return PolicyLoss::kGspo;
  if (name == "cispo") return PolicyLoss::kCispo;
  return absl::InvalidArgumentError(
      absl::StrCat("policy_loss must be \"ppo\", \"gspo\" or \"cispo\", got \"", name, "\""));
}

absl::StatusOr<LossAggregation> ParseLossAggregation(absl::string_view name) {
  if (name == "token-mean") return LossAggregation::kTokenMean;
  if (name == "seq-mean-token-mean") return LossAggregation::kSeqMeanTokenMean;
  if (name == "constant") return LossAggregation::kConstant;
  return absl::InvalidArgumentError(absl::StrCat(
      "loss_aggregation must be \"token-mean\", \"seq-mean-token-mean\" or \"constant\", got \"",
      name, "\""));
}

absl::StatusOr<bool> ParseAdvantageNorm(absl::string_view name) {
  if (name == "mean_std") return true;
  if (name == "mean") return false;
  return absl::InvalidArgumentError(
      absl::StrCat("advantage_norm must be \"mean_std\" or \"mean\", got \"", name, "\""));
}

std::vector<std::string> GrpoOptionsProblems(const GrpoOptions& o) {
  std::vector<std::string> p;
  auto finite = [](double x) { return std::isfinite(x); };
  if (o.policy_loss == PolicyLoss::kCispo) {
    if (!(o.clip_eps_low >= 0 && o.clip_eps_low <= 1)) {
      p.push_back(absl::StrCat("clip_eps_low must be in [0, 1] with cispo, got ", o.clip_eps_low));
    }
  } else if (!(o.clip_eps_low >= 0 && o.clip_eps_low < 1)) {
    p.push_back(absl::StrCat("clip_eps_low must be in [0, 1), got ", o.clip_eps_low));
  }
  if (!(o.dual_clip_c == 0 || (finite(o.dual_clip_c) && o.dual_clip_c > 1))) {
    p.push_back(absl::StrCat("dual_clip_c must be 0 (off) or > 1, got ", o.dual_clip_c));
  } else if (o.dual_clip_c > 1 && o.policy_loss != PolicyLoss::kPpo) {
    p.push_back("dual_clip_c applies to policy_loss \"ppo\" only");
  }
  if (o.policy_loss == PolicyLoss::kGspo && o.aggregation != LossAggregation::kSeqMeanTokenMean) {
    p.push_back(
        "policy_loss \"gspo\" needs loss_aggregation \"seq-mean-token-mean\" (its ratio is per "
        "sequence)");
  }
  if (!finite(o.clip_eps_high) || o.clip_eps_high < 0) {
    p.push_back(absl::StrCat("clip_eps_high must be finite and >= 0, got ", o.clip_eps_high));
  }
  if (!finite(o.kl_coef) || o.kl_coef < 0) {
    p.push_back(absl::StrCat("kl_coef must be finite and >= 0, got ", o.kl_coef));
  }
  if (!finite(o.tis_cap) || o.tis_cap < 0) {
    p.push_back(absl::StrCat("tis_cap must be finite and >= 0, got ", o.tis_cap));
  }
  if (o.aggregation == LossAggregation::kConstant &&
      (!finite(o.constant_normalizer) || o.constant_normalizer <= 0)) {
    p.push_back(absl::StrCat("the constant loss divisor must be finite and > 0, got ",
                             o.constant_normalizer));
  }
  if (o.advantage.normalize_by_std && (!finite(o.advantage.std_eps) || o.advantage.std_eps <= 0)) {
    p.push_back(absl::StrCat("the advantage std eps must be finite and > 0, got ",
                             o.advantage.std_eps));
  }
  return p;
}

absl::StatusOr<GrpoResult> GrpoLoss(const std::vector<GroupInput>& groups,
                                    const GrpoOptions& options) {
  RETURN_IF_ERROR(CheckOptions(options));
  if (groups.empty()) return absl::InvalidArgumentError("GrpoLoss: no groups");
  bool any_ref = false;

  // Pass 1: validate everything and compute advantages, so an error leaves nothing half done.
  GrpoResult result;
  std::vector<bool> kept(groups.size(), true);
  for (size_t g = 0; g < groups.size(); ++g) {
    const GroupInput& group = groups[g];
    if (group.empty())
      return absl::InvalidArgumentError(absl::StrCat("GrpoLoss: group ", g, " is empty"));
    std::vector<double> rewards;
    rewards.reserve(group.size());
    for (size_t i = 0; i < group.size(); ++i) {
      RETURN_IF_ERROR(CheckCompletion(group[i], options, g, i));
      any_ref = any_ref || !group[i].logp_ref.empty();
      rewards.push_back(group[i].reward);
    }
    absl::StatusOr<std::vector<double>> adv = GroupAdvantages(rewards, options.advantage);
    if (!adv.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("GrpoLoss: group ", g, ": ", adv.status().message()));
    }
    if (options.drop_equal_reward_groups && group.size() >= 2 &&
        std::all_of(rewards.begin(), rewards.end(), [&](double r) { return r == rewards[0]; })) {
      kept[g] = false;
      result.dropped_groups.push_back(static_cast<int>(g));
      std::fill(adv->begin(), adv->end(), 0.0);
    }
    result.advantages.insert(result.advantages.end(), adv->begin(), adv->end());
  }
  result.metrics.num_dropped_groups = static_cast<int>(result.dropped_groups.size());

  // Pass 2: the normalisers of the aggregation, over kept groups only.
  int64_t num_tokens = 0;
  int64_t num_nonempty_seqs = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    if (!kept[g]) continue;
    for (const CompletionInput& c : groups[g]) {
      const int64_t n = ValidTokens(c);
      num_tokens += n;
      num_nonempty_seqs += n > 0;
    }
  }
  result.metrics.num_tokens = num_tokens;

  // Pass 3: per-token loss and gradient.
  const double beta = options.kl_coef;
  int64_t clipped_low = 0, clipped_high = 0;
  double kl_sum = 0, adv_sum = 0;
  size_t flat = 0;  // index of the completion in group-major order
  result.dlogp.reserve(result.advantages.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    for (const CompletionInput& c : groups[g]) {
      const double a = result.advantages[flat++];
      std::vector<float>& dlogp = result.dlogp.emplace_back(c.logp.size(), 0.0f);
      const int64_t n = ValidTokens(c);
      if (!kept[g] || n == 0) continue;
      double norm = 0;  // the divisor that this completion's token sum gets
      switch (options.aggregation) {
        case LossAggregation::kTokenMean:
          norm = static_cast<double>(num_tokens);
          break;
        case LossAggregation::kSeqMeanTokenMean:
          norm = static_cast<double>(n) * static_cast<double>(num_nonempty_seqs);
          break;
        case LossAggregation::kConstant:
          norm = options.constant_normalizer;
          break;
      }
      // GSPO: one ratio for the whole completion, from its mean log-ratio over valid tokens.
      double mean_log_ratio = 0;
      if (options.policy_loss == PolicyLoss::kGspo) {
        for (size_t t = 0; t < c.logp.size(); ++t) {
          if (c.mask[t] != 0) mean_log_ratio += static_cast<double>(c.logp[t]) - c.logp_old[t];
        }
        mean_log_ratio /= static_cast<double>(n);
      }
      double seq_loss = 0;
      for (size_t t = 0; t < c.logp.size(); ++t) {
        if (c.mask[t] == 0) continue;
        const double logp = c.logp[t];
        TokenTerm term;
        switch (options.policy_loss) {
          case PolicyLoss::kPpo:
            term = Clipped(a, Ratio(logp, c.logp_old[t]), options.clip_eps_low,
                           options.clip_eps_high);
            if (options.dual_clip_c > 1) term = DualClipped(term, a, options.dual_clip_c);
            break;
          case PolicyLoss::kGspo:
            term = Clipped(a, SequenceRatio(mean_log_ratio), options.clip_eps_low,
                           options.clip_eps_high);
            break;
          case PolicyLoss::kCispo:
            term = ClippedWeight(a, Ratio(logp, c.logp_old[t]), logp, options.clip_eps_low,
                                 options.clip_eps_high);
            break;
        }
        double token_loss = term.loss;
        double grad = term.dlogp;
        clipped_low += term.clipped_low;
        clipped_high += term.clipped_high;
        // Truncated importance sampling: a constant weight on the policy term only.
        if (options.tis_cap > 0) {
          const double lw = static_cast<double>(c.logp_old[t]) - c.logp_rollout[t];
          const double w =
              std::min(std::exp(std::clamp(lw, -kMaxLogRatio, kMaxLogRatio)), options.tis_cap);
          token_loss *= w;
          grad *= w;
        }
        if (!c.logp_ref.empty()) {
          const KlTerm kl = Kl(options.kl_estimator, logp, c.logp_ref[t]);
          kl_sum += kl.value;
          if (beta > 0) {
            token_loss += beta * kl.value;
            grad += beta * kl.dlogp;
          }
        }
        seq_loss += token_loss;
        adv_sum += a;
        dlogp[t] = static_cast<float>(grad / norm);
      }
      result.loss += seq_loss / norm;
    }
  }
  if (num_tokens > 0) {
    const double n = static_cast<double>(num_tokens);
    result.metrics.clip_frac_low = static_cast<double>(clipped_low) / n;
    result.metrics.clip_frac_high = static_cast<double>(clipped_high) / n;
    result.metrics.mean_kl = any_ref ? kl_sum / n : 0.0;
    result.metrics.mean_advantage = adv_sum / n;
  }
  return result;
}

}  // namespace flywheel::learner
