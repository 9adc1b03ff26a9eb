#include "common/model/kv_cache.h"

#include <algorithm>
#include <new>

namespace flywheel::model {

KvCache::KvCache(const ModelConfig& config, int64_t num_blocks, int64_t block_size)
    : num_layers_(config.num_layers),
      num_blocks_(num_blocks),
      block_size_(block_size),
      row_floats_(config.kv_dim()) {
  // calloc rather than a zero-filled vector: glibc maps large blocks fresh from the kernel and
  // does not touch them, so the pages are zeroed lazily, on first write.
  const size_t n = static_cast<size_t>(num_layers_ * num_blocks_ * block_size_ * row_floats_);
  k_.reset(static_cast<float*>(std::calloc(n, sizeof(float))));
  v_.reset(static_cast<float*>(std::calloc(n, sizeof(float))));
  if (n > 0 && (k_ == nullptr || v_ == nullptr)) throw std::bad_alloc();
}

void KvCache::CopyBlock(int64_t from, int64_t to) {
  const int64_t n = block_size_ * row_floats_;
  for (int64_t l = 0; l < num_layers_; ++l) {
    std::copy_n(k(l, from), n, k(l, to));
    std::copy_n(v(l, from), n, v(l, to));
  }
}

}  // namespace flywheel::model
