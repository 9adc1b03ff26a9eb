// Causal grouped-query attention with a fixed reduction order.
//
// Invariance contract: the output for (query position p, head h) is computed by the same sequence
// of float operations whether it comes from a full-sequence forward (pos0 = 0, T = length) or from
// a one-token decode step against a KV cache (pos0 = p, T = 1), whatever the KV block size, the
// other queries in the call or the thread count: scores s_j = dot(q, k_j) * (1/sqrt(D)) with one
// fixed dot routine, m = max_j s_j, e_j = exp(s_j - m), sum = Σ e_j in key order j = 0..p,
// out = Σ_j (e_j / sum) · v_j in key order.
//
// Query head h uses KV head h / (H / KVH).
#pragma once

#include <cstdint>

#include "common/base/thread_pool.h"

namespace flywheel::kernels {

// Where the keys and values of one sequence live. Key j, KV head g, starts at
//   k_blocks[j / block_size] + (j % block_size) * row_stride + g * D
// and likewise for values. A contiguous (T, KVH, D) buffer is one block with
// block_size >= T and row_stride = KVH * D; a paged KV cache passes its block table.
struct KvView {
  const float* const* k_blocks = nullptr;
  const float* const* v_blocks = nullptr;
  int64_t block_size = 0;
  int64_t row_stride = 0;
};

// Queries at positions pos0 .. pos0+T-1 of one sequence attend to keys 0 .. their own position.
// out (T, H, D); q (T, H, D); kv must hold keys 0 .. pos0+T-1.
// att (T, H, pos0 + T) receives the probabilities (zero beyond the causal limit) for backward;
// may be null (inference).
void attention_forward(float* out, float* att, const float* q, const KvView& kv, int64_t pos0,
                       int64_t T, int64_t H, int64_t KVH, int64_t D, ThreadPool* pool);

// One sequence's queries in a batched call: rows row0 .. row0+T-1 of q and out are its queries at
// positions pos0 .. pos0+T-1, and kv holds its keys 0 .. pos0+T-1.
struct AttentionSegment {
  int64_t row0 = 0;
  int64_t T = 0;
  int64_t pos0 = 0;
  KvView kv;
};

// attention_forward (att = null) for several sequences in one call, as an incremental step of
// many sequences needs it: one hand-off to the pool for the whole batch, work split by the keys
// each (row, head) reads. Bit for bit what attention_forward gives each segment alone.
// out (N, H, D), q (N, H, D) over all segments' rows.
void attention_forward_segments(float* out, const float* q, const AttentionSegment* segments,
                                int64_t num_segments, int64_t H, int64_t KVH, int64_t D,
                                ThreadPool* pool);

// Backward of a full-sequence forward (pos0 = 0) with contiguous k, v (T, KVH, D).
// dq (T, H, D), dk (T, KVH, D), dv (T, KVH, D) are accumulated (+=).
// dout (T, H, D); q (T, H, D); att (T, H, T) from the forward.
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q,
                        const float* k, const float* v, const float* att, int64_t T, int64_t H,
                        int64_t KVH, int64_t D, ThreadPool* pool);

}  // namespace flywheel::kernels
