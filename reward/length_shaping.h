// DAPO's soft overlong punishment (arXiv 2503.14476, sec. 3.4; verl's DAPO reward manager):
//   L_exp = L_max - L_cache
//   R_len = 0                                 if len <= L_exp
//         = (L_exp - len) / L_cache * factor  if L_exp < len <= L_max   (linear 0 -> -factor)
//         = -factor                           if len > L_max
// added to the correctness reward so that the model learns to finish before the hard cap instead
// of being cut off there.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"

namespace flywheel::reward {

struct OverlongOptions {
  int64_t max_len = 0;    // L_max: the generation cap
  int64_t cache_len = 0;  // L_cache: the soft-penalty buffer below the cap
  double penalty_factor = 1.0;
  // What `length` counts: tokens (the rollout's count, needed per item) or Unicode code points.
  enum class Unit { kTokens, kChars };
  Unit unit = Unit::kTokens;
};

// InvalidArgument unless 0 < cache_len <= max_len, penalty_factor >= 0 and finite, length >= 0.
absl::Status ValidateOverlong(const OverlongOptions& options);
absl::StatusOr<double> OverlongPenalty(int64_t length, const OverlongOptions& options);

}  // namespace flywheel::reward
