#include "common/model/kv_cache.h"

#include <algorithm>

namespace flywheel::model {

KvCache::KvCache(const ModelConfig& config, int64_t num_blocks, int64_t block_size)
    : num_layers_(config.num_layers),
      num_blocks_(num_blocks),
      block_size_(block_size),
      row_floats_(config.kv_dim()),
      k_(num_layers_ * num_blocks_ * block_size_ * row_floats_, 0.0f),
      v_(k_.size(), 0.0f) {}

void KvCache::CopyBlock(int64_t from, int64_t to) {
  const int64_t n = block_size_ * row_floats_;
  for (int64_t l = 0; l < num_layers_; ++l) {
    std::copy_n(k(l, from), n, k(l, to));
    std::copy_n(v(l, from), n, v(l, to));
  }
}

}  // namespace flywheel::model
