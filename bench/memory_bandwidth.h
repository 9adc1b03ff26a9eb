// Memory bandwidth probes: the anchors of roofline figures (decode reads every weight once per
// step, so its ceiling is the rate at which memory can be streamed) and of copy-bound paths such
// as a weight push. Measured in the same run as the figure they anchor, because the machines are
// shared and the available bandwidth moves with the neighbours' load.
#pragma once

#include <cstdint>

namespace flywheel::bench {

// Sustained read bandwidth in bytes per second: `threads` threads sum disjoint slices of one
// buffer of `bytes` bytes with AVX2 loads; the fastest of `reps` passes after a warm-up. For a
// DRAM figure `bytes` must be several times the last-level cache. Allocates the buffer for the
// duration of the call only.
double MeasureReadBandwidth(int64_t bytes, int threads, int reps);

// memcpy bandwidth of one thread in bytes copied per second (each byte is read once and written
// once); the fastest of `reps` copies of a `bytes` buffer after a warm-up. One thread, because the
// copy-bound paths it anchors (a gRPC stream's receive path, the weight stager) run on one.
double MeasureMemcpyBandwidth(int64_t bytes, int reps);

}  // namespace flywheel::bench
