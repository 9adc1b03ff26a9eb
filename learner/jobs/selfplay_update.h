// What one self-play round trains on, and what it reports: the weighted sequences of both roles
// (selfplay_rewards.h for the rules; the update is algorithms/weighted_likelihood.h), the round's
// metrics for StepMetrics, and the collapse monitor over recent rounds.
//
// Thread safety: functions of their arguments; a CollapseMonitor is used by one thread.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "flywheel/v1/learner.pb.h"
#include "learner/algorithms/weighted_likelihood.h"
#include "learner/jobs/selfplay_round.h"

namespace flywheel::learner {

struct SelfPlayUpdate {
  std::vector<WeightedSample> samples;  // non-zero weights only
  int solver_trained = 0;
  int conjecturer_trained = 0;
};

// The solver: REINFORCE-1/2 (weight 1 on the correct attempts of problems with 0 < s <= max) or,
// with config.solver_grpo, the group-normalised advantage on every attempt of a problem whose
// attempts differ. The conjecturer: ConjectureRewards over the valid conjectures, times
// conjecturer_weight. Any generation past the length penalty's start gets the (negative) penalty
// instead of its weight, invalid conjectures included.
SelfPlayUpdate PlanSelfPlayUpdate(const RoundResult& round, const SelfPlayConfig& config);

// The round's self-play fields of StepMetrics: conjectures written, gate pass rate, distinct
// fraction, rejections by reason, the solve-count histogram of valid conjectures, the trained
// counts, and the solver's entropy estimated from its samples (the mean of -log p over the
// sampled tokens, unbiased at temperature 1).
void FillSelfPlayMetrics(const RoundResult& round, const SelfPlayUpdate& update, int attempts,
                         v1::StepMetrics* m);

// Watches the gate pass rate, the distinct fraction and the solver entropy over the last `window`
// rounds (SGS sec 4.5, "Survive or Collapse": a gate that stops admitting, a conjecturer that
// repeats itself, a solver whose entropy collapses).
class CollapseMonitor {
 public:
  explicit CollapseMonitor(const SelfPlayConfig& config) : config_(config) {}
  // Adds a round; returns a description of the collapse when a monitored mean fell below its
  // threshold over a full window, else nullopt.
  std::optional<std::string> Add(const v1::StepMetrics& m);

 private:
  const SelfPlayConfig config_;
  std::deque<v1::StepMetrics> window_;
};

}  // namespace flywheel::learner
