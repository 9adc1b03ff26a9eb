// The per-token policy-gradient terms the losses share (ALGORITHMS.md sec 1.2 and 2.1): the
// importance ratio against the sampling policy, the plain importance-sampling term and PPO's
// clipped surrogate, each with its derivative with respect to the current logprob.
//
// The derivatives mirror PyTorch autograd on the same expressions (as verl writes them): clamp
// passes the gradient inside its closed range and blocks it outside, and max() of two equal
// values splits the gradient in halves that here always add up to the unclipped one.
//
// Pure functions; safe from any thread.
#pragma once

#include <algorithm>
#include <cmath>

namespace flywheel::learner {

// verl's clamp of log-ratios before exp: exp(20) ~ 5e8 still leaves a usable float ratio.
inline constexpr double kMaxLogRatio = 20.0;

struct ImportanceRatio {
  double value = 1.0;  // exp(clamp(logp - logp_old, -20, 20))
  bool live = true;    // false when the clamp cut the log-ratio: no gradient flows
};

inline ImportanceRatio Ratio(double logp, double logp_old) {
  const double log_ratio = logp - logp_old;
  return {std::exp(std::clamp(log_ratio, -kMaxLogRatio, kMaxLogRatio)),
          std::abs(log_ratio) <= kMaxLogRatio};
}

struct TokenTerm {
  double loss = 0.0;
  double dlogp = 0.0;         // d loss / d logp
  bool clipped_low = false;   // PPO: A < 0 and the ratio fell below 1 - eps_low
  bool clipped_high = false;  // PPO: A > 0 and the ratio rose above 1 + eps_high
};

// -A * ratio: REINFORCE with an importance weight on the sampled token (Tinker's
// "importance_sampling" loss). d/dlogp (-A * exp(logp - logp_old)) = -A * ratio.
inline TokenTerm ImportanceSampled(double advantage, const ImportanceRatio& r) {
  return {-advantage * r.value, r.live ? -advantage * r.value : 0.0, false, false};
}

// max(-A * ratio, -A * clamp(ratio, 1 - eps_low, 1 + eps_high)): PPO's clipped surrogate.
inline TokenTerm Clipped(double advantage, const ImportanceRatio& r, double eps_low,
                         double eps_high) {
  const double l1 = -advantage * r.value;
  const double l2 = -advantage * std::clamp(r.value, 1.0 - eps_low, 1.0 + eps_high);
  TokenTerm t;
  t.loss = std::max(l1, l2);
  // l2 > l1 only when the ratio is outside the clip range on the side A pushes towards: the
  // token's gradient is cut. Otherwise l1 carries the gradient (see the file comment).
  t.dlogp = (l1 >= l2 && r.live) ? -advantage * r.value : 0.0;
  if (l2 > l1) (advantage < 0 ? t.clipped_low : t.clipped_high) = true;
  return t;
}

// Dual clip (Ye et al. 2019) on a clipped term: where A < 0 the loss is at most -A c (c > 1), so
// one token whose ratio exploded cannot dominate; the gradient there is 0 (a constant).
inline TokenTerm DualClipped(TokenTerm term, double advantage, double c) {
  if (advantage < 0 && -advantage * c < term.loss) {
    term.loss = -advantage * c;
    term.dlogp = 0.0;
  }
  return term;
}

// CISPO (MiniMax-M1): -sg(clamp(ratio, 1 - eps_low, 1 + eps_high)) A logp. The importance
// weight is clipped but every token keeps its gradient, -w A.
inline TokenTerm ClippedWeight(double advantage, const ImportanceRatio& r, double logp,
                               double eps_low, double eps_high) {
  const double w = std::clamp(r.value, 1.0 - eps_low, 1.0 + eps_high);
  TokenTerm t;
  t.loss = -w * advantage * logp;
  t.dlogp = -w * advantage;
  t.clipped_low = r.value < 1.0 - eps_low;
  t.clipped_high = r.value > 1.0 + eps_high;
  return t;
}

// GSPO's sequence ratio exp(mean_t (logp - logp_old)) over a completion's valid tokens, clamped
// at exp(10) as verl does; the same for every token of the completion.
inline ImportanceRatio SequenceRatio(double mean_log_ratio) {
  constexpr double kMaxSequenceLogRatio = 10.0;
  return {std::exp(std::min(mean_log_ratio, kMaxSequenceLogRatio)),
          mean_log_ratio <= kMaxSequenceLogRatio};
}

}  // namespace flywheel::learner
