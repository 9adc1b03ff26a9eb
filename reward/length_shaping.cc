#include "reward/length_shaping.h"

#include <cmath>

#include "reward/text_util.h"

namespace flywheel::reward {

absl::Status ValidateOverlong(const OverlongOptions& o) {
  if (o.max_len <= 0 || o.cache_len <= 0 || o.cache_len > o.max_len) {
    return absl::InvalidArgumentError(Cat("overlong: need 0 < cache_len <= max_len, got max_len=",
                                          o.max_len, " cache_len=", o.cache_len));
  }
  if (!std::isfinite(o.penalty_factor) || o.penalty_factor < 0) {
    return absl::InvalidArgumentError("overlong: penalty_factor must be finite and >= 0");
  }
  return absl::OkStatus();
}

absl::StatusOr<double> OverlongPenalty(int64_t length, const OverlongOptions& o) {
  if (auto s = ValidateOverlong(o); !s.ok()) return s;
  if (length < 0) return absl::InvalidArgumentError("overlong: negative length");
  const int64_t expected = o.max_len - o.cache_len;
  if (length <= expected) return 0.0;
  if (length > o.max_len) return -o.penalty_factor;
  return -static_cast<double>(length - expected) / static_cast<double>(o.cache_len) *
         o.penalty_factor;
}

}  // namespace flywheel::reward
