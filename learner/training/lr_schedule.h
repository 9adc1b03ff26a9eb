// The learning rate of each optimizer step: linear warmup from 0, then constant, linear or cosine
// decay to lr * min_lr_ratio at the run's last step (TRL's `lr_scheduler_type`, verl's
// `min_lr_ratio`). Pure functions; safe from any thread.
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace flywheel::learner {

enum class LrDecay { kConstant, kLinear, kCosine };

struct LrSchedule {
  double lr = 1e-5;          // the peak rate, reached at the end of warmup
  int64_t warmup_steps = 0;  // lr * (step + 1) / warmup_steps for the first steps; 0 = none
  LrDecay decay = LrDecay::kConstant;
  int64_t total_steps = 0;    // the decay ends here; must exceed warmup_steps when decaying
  double min_lr_ratio = 0.0;  // the rate at the last step, as a fraction of lr
};

// Parses "constant", "linear" or "cosine"; anything else is InvalidArgument.
absl::Status ParseLrDecay(absl::string_view name, LrDecay* decay);

// The rate for 0-based optimizer step `step`. Steps past total_steps keep the final rate.
double LearningRate(const LrSchedule& s, int64_t step);

}  // namespace flywheel::learner
