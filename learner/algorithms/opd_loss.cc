// On-policy distillation loss; see opd_loss.h for the formulas.
#include "learner/algorithms/opd_loss.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/status_macros.h"
#include "learner/algorithms/surrogate.h"

namespace flywheel::learner {
namespace {

absl::Status CheckSpan(absl::Span<const float> s, size_t t, const char* name, size_t group,
                       size_t index) {
  if (s.size() != t) {
    return absl::InvalidArgumentError(absl::StrCat("OpdLoss: group ", group, " completion ", index,
                                                   ": ", name, " has ", s.size(),
                                                   " entries, logp has ", t));
  }
  for (size_t k = 0; k < t; ++k) {
    if (!std::isfinite(s[k])) {
      return absl::InvalidArgumentError(absl::StrCat("OpdLoss: group ", group, " completion ",
                                                     index, ": ", name, "[", k, "] = ", s[k]));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckInput(const DistillInput& c, size_t group, size_t index) {
  const size_t t = c.logp.size();
  RETURN_IF_ERROR(CheckSpan(c.logp, t, "logp", group, index));
  RETURN_IF_ERROR(CheckSpan(c.logp_old, t, "logp_old", group, index));
  RETURN_IF_ERROR(CheckSpan(c.logp_teacher, t, "logp_teacher", group, index));
  if (c.mask.size() != t) {
    return absl::InvalidArgumentError(absl::StrCat("OpdLoss: group ", group, " completion ", index,
                                                   ": mask has ", c.mask.size(),
                                                   " entries, logp has ", t));
  }
  if (!std::isfinite(c.reward)) {
    return absl::InvalidArgumentError(
        absl::StrCat("OpdLoss: group ", group, " completion ", index, ": reward ", c.reward));
  }
  return absl::OkStatus();
}

// A_t of one completion from its per-token reverse KL, before the reward term.
std::vector<double> KlAdvantages(const DistillInput& c, const OpdOptions& o) {
  const size_t T = c.logp.size();
  std::vector<double> adv(T, 0.0);
  double carry = 0.0;  // sum over later valid tokens, discounted to the current one
  for (size_t k = T; k-- > 0;) {
    if (c.mask[k] == 0) continue;
    const double rkl = static_cast<double>(c.logp_old[k]) - static_cast<double>(c.logp_teacher[k]);
    carry = -o.kl_coef * rkl + o.kl_discount * carry;
    adv[k] = carry;
  }
  return adv;
}

}  // namespace

absl::StatusOr<DistillLoss> ParseDistillLoss(absl::string_view name) {
  if (name == "importance_sampling") return DistillLoss::kImportanceSampling;
  if (name == "ppo") return DistillLoss::kPpo;
  return absl::InvalidArgumentError(
      absl::StrCat("loss must be \"importance_sampling\" or \"ppo\", got \"", name, "\""));
}

std::vector<std::string> OpdOptionsProblems(const OpdOptions& o) {
  std::vector<std::string> p;
  auto finite = [](double x) { return std::isfinite(x); };
  if (!finite(o.kl_coef) || o.kl_coef < 0) {
    p.push_back(absl::StrCat("kl_coef must be finite and >= 0, got ", o.kl_coef));
  }
  if (!(o.kl_discount >= 0 && o.kl_discount <= 1)) {
    p.push_back(absl::StrCat("kl_discount must be in [0, 1], got ", o.kl_discount));
  }
  if (!finite(o.reward_weight) || o.reward_weight < 0) {
    p.push_back(absl::StrCat("reward_weight must be finite and >= 0, got ", o.reward_weight));
  }
  if (o.kl_coef == 0 && o.reward_weight == 0) {
    p.push_back("kl_coef and reward_weight are both 0: nothing to learn from");
  }
  if (o.loss == DistillLoss::kPpo) {
    if (!(o.clip_eps_low >= 0 && o.clip_eps_low < 1)) {
      p.push_back(absl::StrCat("clip_eps_low must be in [0, 1), got ", o.clip_eps_low));
    }
    if (!finite(o.clip_eps_high) || o.clip_eps_high < 0) {
      p.push_back(absl::StrCat("clip_eps_high must be finite and >= 0, got ", o.clip_eps_high));
    }
  }
  return p;
}

absl::StatusOr<OpdResult> OpdLoss(const std::vector<DistillGroup>& groups,
                                  const OpdOptions& options) {
  if (auto problems = OpdOptionsProblems(options); !problems.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("OpdLoss: ", absl::StrJoin(problems, "; ")));
  }
  if (groups.empty()) return absl::InvalidArgumentError("OpdLoss: no groups");
  // Pass 1: validate everything, so an error leaves nothing half done; count valid tokens.
  int64_t num_tokens = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    if (groups[g].empty()) {
      return absl::InvalidArgumentError(absl::StrCat("OpdLoss: group ", g, " is empty"));
    }
    for (size_t i = 0; i < groups[g].size(); ++i) {
      RETURN_IF_ERROR(CheckInput(groups[g][i], g, i));
      for (uint8_t m : groups[g][i].mask) num_tokens += m != 0;
    }
  }
  OpdResult result;
  result.num_tokens = num_tokens;
  // Pass 2: advantages, loss and gradient.
  const double n = static_cast<double>(std::max<int64_t>(num_tokens, 1));
  double rkl_sum = 0;
  int64_t clipped = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    const DistillGroup& group = groups[g];
    std::vector<double> rewards;
    for (const DistillInput& c : group) rewards.push_back(c.reward);
    AdvantageOptions norm;
    norm.normalize_by_std = options.reward_std_norm;
    absl::StatusOr<std::vector<double>> env_adv = GroupAdvantages(rewards, norm);
    if (!env_adv.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("OpdLoss: group ", g, ": ", env_adv.status().message()));
    }
    for (size_t i = 0; i < group.size(); ++i) {
      const DistillInput& c = group[i];
      std::vector<double> adv = KlAdvantages(c, options);
      const double env = options.reward_weight * (*env_adv)[i];
      std::vector<float>& dlogp = result.dlogp.emplace_back(c.logp.size(), 0.0f);
      for (size_t t = 0; t < c.logp.size(); ++t) {
        if (c.mask[t] == 0) continue;
        adv[t] += env;
        rkl_sum += static_cast<double>(c.logp_old[t]) - static_cast<double>(c.logp_teacher[t]);
        const ImportanceRatio r = Ratio(c.logp[t], c.logp_old[t]);
        const TokenTerm term = options.loss == DistillLoss::kPpo
                                   ? Clipped(adv[t], r, options.clip_eps_low, options.clip_eps_high)
                                   : ImportanceSampled(adv[t], r);
        clipped += term.clipped_low || term.clipped_high;
        result.loss += term.loss / n;
        dlogp[t] = static_cast<float>(term.dlogp / n);
      }
      result.advantages.push_back(std::move(adv));
    }
  }
  if (num_tokens > 0) {
    result.teacher_kl = rkl_sum / static_cast<double>(num_tokens);
    result.clip_frac = static_cast<double>(clipped) / static_cast<double>(num_tokens);
  }
  return result;
}

}  // namespace flywheel::learner
