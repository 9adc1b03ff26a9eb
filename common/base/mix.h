// splitmix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", 2014): the
// one 64-bit mixing function flywheel uses wherever a seed must be derived from other numbers
// (sampling streams, per-prompt seeds, identity-test points). Its finaliser is a bijection with
// full avalanche, so nearby inputs give unrelated outputs. The exact bits are part of the
// project's reproducibility: a seeded run draws the same tokens on every machine and release, so
// these functions must never change.
//
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>

namespace flywheel {

// The golden-ratio increment of the splitmix64 stream.
inline constexpr uint64_t kSplitMixGamma = 0x9e3779b97f4a7c15ULL;

// splitmix64's output function alone.
inline uint64_t SplitMixFinalize(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Advances a splitmix64 stream whose state is `state` and returns its next value.
inline uint64_t SplitMixNext(uint64_t& state) { return SplitMixFinalize(state += kSplitMixGamma); }

// One value mixed: the first output of a stream started at x.
inline uint64_t Mix64(uint64_t x) { return SplitMixFinalize(x + kSplitMixGamma); }

// A stable mix of the pair (a, b): b selects the b-th element of a stream seeded with a.
inline uint64_t MixSeed(uint64_t a, uint64_t b) {
  return SplitMixFinalize(a + kSplitMixGamma * (b + 1));
}

}  // namespace flywheel
