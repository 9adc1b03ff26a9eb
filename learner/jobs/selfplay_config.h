// A self-play job's settings (SelfPlaySpec in learner.proto, with defaults applied), as the
// round, the update and the collapse monitor use them.
#pragma once

#include <cstdint>
#include <string>

#include "learner/algorithms/selfplay_rewards.h"

namespace flywheel::learner {

// A self-play job's settings, from its spec (ToSelfPlayConfig in job_spec.h).
struct SelfPlayConfig {
  int attempts = 8;
  int conjectures_per_target = 1;
  bool solver_grpo = false;  // solver_loss "grpo" (else REINFORCE-1/2)
  SelfPlayRewardOptions rewards;
  double conjecturer_weight = 1.0;
  std::string guide_rubric_json;  // empty: guide "none"
  std::string solver_template = "{problem}=";
  std::string conjecture_template = "Simpler than {target}:";
  // The gate's "conjecture" block without target and batch (filled in per conjecture).
  std::string gate_ops = "+-*";
  int gate_max_digits = 3, gate_max_ops = 4, gate_max_chars = 48;
  int64_t gate_max_value = 1000000;
  // Collapse monitors (0 = off).
  double min_valid_rate = 0, min_distinct_fraction = 0, min_entropy = 0;
  int collapse_window = 5;
  bool stop_on_collapse = false;
};

}  // namespace flywheel::learner
