// The numbers of one self-play round (SGS, "Scaling Self-Play with Self-Guidance"; ALGORITHMS.md
// sec 4.1): which solver attempts are trained on, and the conjecturer's reward for each
// conjecture. Pure functions, checked against a Python transcription of the paper's equations
// (tests/reference/selfplay_ref.py).
//
// Solver (REINFORCE_1/2): the correct attempts of problems whose solve rate s = mean_i v(y_i) is
// at most 1/2 are trained on with weight 1 (a problem solved more often teaches little; one never
// solved has no correct attempt).
//
// Conjecturer, per conjecture x~ that passed the gate, with solve rate s over k attempts and guide
// score g:
//   kept    iff 0 < s < 1 and s <= p, p the 70th percentile of the round's solve rates in (0, 1)
//           (s = 0: too hard or wrong; s above p or 1: too easy)
//   R       = (1 - s) * g                                        (R_solve * R_guide)
//   weight  = (R - min R) / (max R - min R) over the kept conjectures (all 1 when max = min),
//             0 for the others
// and the length penalty replaces the weight when negative: a generation whose length reaches
// length_penalty_start of its limit gets a weight falling linearly from 0 to -1 at the limit.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <vector>

namespace flywheel::learner {

struct SelfPlayRewardOptions {
  double max_solve_rate = 0.5;        // REINFORCE_1/2's cut: train on problems with s <= this
  double too_easy_percentile = 0.7;   // conjectures above this percentile of (0, 1) rates earn 0
  double length_penalty_start = 0.8;  // fraction of the length limit where the penalty starts
};

// Whether the correct attempts of a problem with solve rate `s` are trained on: 0 < s <= max.
bool TrainSolverOn(double solve_rate, const SelfPlayRewardOptions& options);

// The percentile (linear interpolation between closest ranks, as numpy's default) of the solve
// rates strictly between 0 and 1; nullopt-like -1 when there are none.
double TooEasyThreshold(const std::vector<double>& solve_rates, double percentile);

struct ConjectureReward {
  bool kept = false;   // trained on for its reward
  double r_solve = 0;  // 1 - s when kept, else 0
  double r = 0;        // R_solve * guide
  double weight = 0;   // min-max normalised over the kept ones; the length penalty when negative
};

// One reward per conjecture that passed the gate, in order. solve_rates[i] in [0, 1]; guide[i]
// the guide score (1 with no guide); length_fraction[i] the conjecture's length over its limit.
std::vector<ConjectureReward> ConjectureRewards(const std::vector<double>& solve_rates,
                                                const std::vector<double>& guide,
                                                const std::vector<double>& length_fraction,
                                                const SelfPlayRewardOptions& options);

// The DAPO-style length weight: 0 below `start`, falling linearly to -1 at a fraction of 1 (and
// staying -1 beyond).
double LengthPenalty(double length_fraction, double start);

}  // namespace flywheel::learner
