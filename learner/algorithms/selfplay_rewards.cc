#include "learner/algorithms/selfplay_rewards.h"

#include <algorithm>
#include <cmath>

namespace flywheel::learner {

bool TrainSolverOn(double solve_rate, const SelfPlayRewardOptions& options) {
  return solve_rate > 0 && solve_rate <= options.max_solve_rate;
}

double TooEasyThreshold(const std::vector<double>& solve_rates, double percentile) {
  std::vector<double> inner;
  for (double s : solve_rates) {
    if (s > 0 && s < 1) inner.push_back(s);
  }
  if (inner.empty()) return -1;
  std::sort(inner.begin(), inner.end());
  // numpy's default ("linear"): the value at fractional rank percentile * (n - 1).
  const double rank = percentile * static_cast<double>(inner.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, inner.size() - 1);
  return inner[lo] + (rank - static_cast<double>(lo)) * (inner[hi] - inner[lo]);
}

double LengthPenalty(double length_fraction, double start) {
  if (length_fraction <= start) return 0;
  if (start >= 1) return length_fraction > 1 ? -1 : 0;
  return -std::min(1.0, (length_fraction - start) / (1.0 - start));
}

std::vector<ConjectureReward> ConjectureRewards(const std::vector<double>& solve_rates,
                                                const std::vector<double>& guide,
                                                const std::vector<double>& length_fraction,
                                                const SelfPlayRewardOptions& options) {
  const size_t n = solve_rates.size();
  std::vector<ConjectureReward> out(n);
  const double threshold = TooEasyThreshold(solve_rates, options.too_easy_percentile);
  double lo = 0, hi = 0;
  bool any = false;
  for (size_t i = 0; i < n; ++i) {
    const double s = solve_rates[i];
    ConjectureReward& c = out[i];
    c.kept = s > 0 && s < 1 && s <= threshold;
    if (!c.kept) continue;
    c.r_solve = 1 - s;
    c.r = c.r_solve * guide[i];
    lo = any ? std::min(lo, c.r) : c.r;
    hi = any ? std::max(hi, c.r) : c.r;
    any = true;
  }
  for (size_t i = 0; i < n; ++i) {
    ConjectureReward& c = out[i];
    if (c.kept) c.weight = hi > lo ? (c.r - lo) / (hi - lo) : 1.0;
    const double penalty = LengthPenalty(length_fraction[i], options.length_penalty_start);
    if (penalty < 0) c.weight = penalty;
  }
  return out;
}

}  // namespace flywheel::learner
