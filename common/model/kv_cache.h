// Paged key/value storage for incremental decoding: fixed-size blocks of token rows, addressed
// through per-sequence block tables (as in vLLM's PagedAttention). This class only owns the
// memory; which blocks a sequence uses, sharing and reference counts belong to the rollout
// engine's block manager.
//
// Thread safety: none; the engine thread that runs the model owns it.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "absl/types/span.h"
#include "common/model/config.h"

namespace flywheel::model {

class KvCache {
 public:
  // Reserves num_blocks blocks of block_size tokens for every layer. The memory reads as zeros
  // and becomes resident only as blocks are written (the operating system maps zero pages on
  // first touch), so a large cache starts in no time and costs what it holds.
  KvCache(const ModelConfig& config, int64_t num_blocks, int64_t block_size);
  KvCache(const KvCache&) = delete;
  KvCache& operator=(const KvCache&) = delete;

  int64_t num_blocks() const { return num_blocks_; }
  int64_t block_size() const { return block_size_; }
  int64_t row_floats() const { return row_floats_; }  // KVH * D floats per token row

  // Block `block` of layer `layer`: (block_size, KVH, D) floats.
  float* k(int64_t layer, int64_t block) { return k_.get() + Index(layer, block); }
  float* v(int64_t layer, int64_t block) { return v_.get() + Index(layer, block); }

  // Copies block `from` into block `to` in every layer (copy-on-write of a shared block).
  void CopyBlock(int64_t from, int64_t to);

 private:
  int64_t Index(int64_t layer, int64_t block) const {
    return (layer * num_blocks_ + block) * block_size_ * row_floats_;
  }
  struct FreeDeleter {
    void operator()(float* p) const { std::free(p); }
  };
  int64_t num_layers_, num_blocks_, block_size_, row_floats_;
  std::unique_ptr<float[], FreeDeleter> k_, v_;  // (L, num_blocks, block_size, KVH, D), calloc'd
};

// One sequence's part of an incremental forward: new tokens at positions pos0 .. pos0+n-1.
// The cache must already hold this sequence's positions 0 .. pos0-1; block_table must name blocks
// for every position 0 .. pos0+n-1 (block i holds positions i*block_size ..).
// A prefill is a step with pos0 = 0 (or the length of a cached prefix) and many tokens;
// a decode step has one token.
struct SeqStep {
  absl::Span<const int32_t> tokens;
  int64_t pos0 = 0;
  absl::Span<const int32_t> block_table;
};

}  // namespace flywheel::model
