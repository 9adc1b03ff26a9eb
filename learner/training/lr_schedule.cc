#include "learner/training/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "absl/strings/str_cat.h"

namespace flywheel::learner {

absl::Status ParseLrDecay(absl::string_view name, LrDecay* decay) {
  if (name == "constant") {
    *decay = LrDecay::kConstant;
  } else if (name == "linear") {
    *decay = LrDecay::kLinear;
  } else if (name == "cosine") {
    *decay = LrDecay::kCosine;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "lr_schedule must be \"constant\", \"linear\" or \"cosine\", got \"", name, "\""));
  }
  return absl::OkStatus();
}

double LearningRate(const LrSchedule& s, int64_t step) {
  if (s.warmup_steps > 0 && step < s.warmup_steps) {
    return s.lr * static_cast<double>(step + 1) / static_cast<double>(s.warmup_steps);
  }
  if (s.decay == LrDecay::kConstant) return s.lr;
  // Progress runs from 0 at the first step after warmup to 1 at the last step (total_steps - 1).
  const int64_t span = std::max<int64_t>(1, s.total_steps - 1 - s.warmup_steps);
  const double t =
      std::clamp(static_cast<double>(step - s.warmup_steps) / static_cast<double>(span), 0.0, 1.0);
  const double factor =
      s.decay == LrDecay::kLinear ? 1.0 - t : 0.5 * (1.0 + std::cos(std::numbers::pi * t));
  return s.lr * (s.min_lr_ratio + (1.0 - s.min_lr_ratio) * factor);
}

}  // namespace flywheel::learner
