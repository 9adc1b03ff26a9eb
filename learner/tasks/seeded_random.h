// Draws from a seeded std::mt19937_64 that are the same on every standard library: the engine's
// output sequence is fixed by the standard, but std::uniform_int_distribution's algorithm is not,
// so built-in tasks draw through these to write the same bytes everywhere.
// Pure functions of the engine; one engine per thread.
#pragma once

#include <cstdint>
#include <limits>
#include <random>

namespace flywheel::learner {

// Uniform in [0, n), n > 0, by rejection on raw 64-bit engine output.
inline uint64_t UniformBelow(std::mt19937_64& rng, uint64_t n) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  // 2^64 mod n values at the top would make low results more likely; redraw those.
  const uint64_t excess = (kMax % n + 1) % n;
  for (;;) {
    const uint64_t x = rng();
    if (x <= kMax - excess) return x % n;
  }
}

inline uint64_t Pow10(int d) {
  uint64_t p = 1;
  for (int i = 0; i < d; ++i) p *= 10;
  return p;
}

// One operand of up to `digits` digits: a length uniform in 1..digits, then a value of exactly
// that length (0 counts as a one-digit number), so short operands stay common.
inline int64_t LadderOperand(std::mt19937_64& rng, int digits) {
  const int len = 1 + static_cast<int>(UniformBelow(rng, static_cast<uint64_t>(digits)));
  const uint64_t lo = len == 1 ? 0 : Pow10(len - 1);
  const uint64_t hi = Pow10(len);
  return static_cast<int64_t>(lo + UniformBelow(rng, hi - lo));
}

}  // namespace flywheel::learner
