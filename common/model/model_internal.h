// Helpers shared by transformer.cc and transformer_backward.cc; not part of the model's API.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "common/model/activations.h"
#include "common/model/config.h"

namespace flywheel::model::internal {

// Logits are kept for backward while they fit in this many floats (64 MiB); larger vocabularies
// x batches recompute them chunk by chunk instead.
constexpr int64_t kKeepLogitsFloats = int64_t{16} << 20;

// Rows per LM-head chunk: bounds the transient (rows, V) logits buffer to ~32 MiB.
inline int64_t LogitChunkRows(int64_t V) { return std::max<int64_t>(1, (int64_t{8} << 20) / V); }

// Resizes v to at least n elements (never shrinks, so a reused buffer allocates once).
inline void Grow(std::vector<float>* v, int64_t n) {
  if (static_cast<int64_t>(v->size()) < n) v->resize(n);
}

// Fills tokens, targets, positions, seq_start and att_start of a for a batch of whole sequences.
void FlattenBatch(const std::vector<std::vector<int32_t>>& seqs, int64_t num_heads, Activations* a);

// qkv (N, HD + 2 KVD) rows -> q (N, HD), k (N, KVD), v (N, KVD).
void SplitQkv(float* q, float* k, float* v, const float* qkv, int64_t N, int64_t HD, int64_t KVD);
// The reverse, for gradients.
void MergeQkv(float* qkv, const float* q, const float* k, const float* v, int64_t N, int64_t HD,
              int64_t KVD);

}  // namespace flywheel::model::internal
