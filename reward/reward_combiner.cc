#include "reward/reward_combiner.h"

#include <cmath>
#include <set>

#include "reward/text_util.h"

namespace flywheel::reward {

absl::StatusOr<CombinedReward> CombineTerms(std::vector<RewardTerm> terms) {
  CombinedReward out;
  std::set<std::string> seen;
  for (const RewardTerm& t : terms) {
    if (t.name.empty()) return absl::InvalidArgumentError("reward term without a name");
    if (!seen.insert(t.name).second) {
      return absl::InvalidArgumentError(Cat("reward term \"", t.name, "\" appears twice"));
    }
    if (!std::isfinite(t.value) || !std::isfinite(t.weight)) {
      return absl::InvalidArgumentError(
          Cat("reward term \"", t.name, "\" has a non-finite value or weight"));
    }
    out.total += t.weight * t.value;
  }
  out.terms = std::move(terms);
  return out;
}

}  // namespace flywheel::reward
