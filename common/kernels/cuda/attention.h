// Causal grouped-query attention on the GPU: cpu/attention.h's attention_forward and
// attention_forward_segments on device pointers, without a thread pool. Query head h uses KV head
// h / (H / KVH); scale 1/sqrt(D).
//
// Invariance contract, as on the CPU: one thread block computes one (query position p, head h)
// pair, and its float operations depend on p and D alone, never on T, pos0, the other queries or
// sequences of the call, or the KV block size: the scores s_j = dot(q, k_j) · scale (cpu/'s dot
// order: eight interleaved FMA chains, then a fixed tree), m = max_j s_j and Σ_j exp(s_j − m) in
// BlockReduce's order (which depends on the key count p + 1 only), p_j = exp(s_j − m) / sum,
// out = Σ_j p_j · v_j with one FMA per key in key order. So a decode step (pos0 = p, T = 1) gives
// the bits of the full forward's row p.
//
// Against the CPU: the scores and the output accumulation are the CPU's operations, but CUDA's
// expf differs from the CPU's exp in the last bit or two and the softmax sum is a tree here and a
// key-order chain there, so the two paths agree to a few ulp, not bitwise.
#pragma once

#include <cstdint>

#include "common/kernels/cpu/attention.h"

namespace flywheel::kernels::cuda {

// kv: a kernels::KvView whose k_blocks and v_blocks are device arrays of device pointers (a
// contiguous (T, KVH, D) buffer is one block). Queries at positions pos0 .. pos0+T-1 of one
// sequence attend to keys 0 .. their own position.
// out (T, H, D); q (T, H, D); att (T, H, pos0 + T) receives the probabilities (zero beyond the
// causal limit), may be null: device pointers. Synchronous. Returns false if the launch or the
// kernel fails, or if T · H blocks exceed the grid.
bool attention_forward(float* out, float* att, const float* q, const KvView& kv, int64_t pos0,
                       int64_t T, int64_t H, int64_t KVH, int64_t D);

// attention_forward (att = null) for each of num_segments sequences; segments is a host array
// whose kv views hold device block tables. out (N, H, D), q (N, H, D) over all segments' rows:
// device pointers. Each segment is one launch, so its bits are attention_forward's for it alone.
// Synchronous. Returns false if a launch or a kernel fails.
bool attention_forward_segments(float* out, const float* q, const AttentionSegment* segments,
                                int64_t num_segments, int64_t H, int64_t KVH, int64_t D);

}  // namespace flywheel::kernels::cuda
