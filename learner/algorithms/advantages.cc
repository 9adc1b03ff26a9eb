// Group-relative advantages; see advantages.h.
#include "learner/algorithms/advantages.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace flywheel::learner {

absl::StatusOr<std::vector<double>> GroupAdvantages(absl::Span<const double> rewards,
                                                    const AdvantageOptions& options) {
  const size_t g = rewards.size();
  if (g == 0) return absl::InvalidArgumentError("GroupAdvantages: empty group");
  for (size_t i = 0; i < g; ++i) {
    if (!std::isfinite(rewards[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("GroupAdvantages: reward ", i, " is not finite (", rewards[i], ")"));
    }
  }
  if (options.normalize_by_std) {
    if (!(options.std_eps > 0) || !std::isfinite(options.std_eps)) {
      return absl::InvalidArgumentError(
          absl::StrCat("GroupAdvantages: std_eps must be finite and > 0, got ", options.std_eps));
    }
    if (g < 2) {
      return absl::InvalidArgumentError(
          "GroupAdvantages: std normalisation needs a group of at least 2 completions");
    }
  }
  // All-equal groups return exact zeros: a rounding residual of the mean (e.g. 0.1 summed four
  // times) divided by eps would otherwise give a spurious, eps-dependent advantage.
  bool all_equal = true;
  for (size_t i = 1; i < g; ++i) all_equal = all_equal && rewards[i] == rewards[0];
  if (all_equal) return std::vector<double>(g, 0.0);

  double mean = 0;
  for (double r : rewards) mean += r;
  mean /= static_cast<double>(g);
  std::vector<double> adv(g);
  for (size_t i = 0; i < g; ++i) adv[i] = rewards[i] - mean;
  if (options.normalize_by_std) {
    double ss = 0;
    for (double a : adv) ss += a * a;
    const double std_dev = std::sqrt(ss / static_cast<double>(g - 1));
    for (double& a : adv) a /= std_dev + options.std_eps;
  }
  return adv;
}

}  // namespace flywheel::learner
