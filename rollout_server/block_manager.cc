#include "rollout_server/block_manager.h"

#include "common/base/logging.h"

namespace flywheel::rollout {
namespace {

uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  return x ^ (x >> 33);
}

}  // namespace

BlockManager::BlockManager(int64_t num_blocks, int64_t block_size)
    : block_size_(block_size),
      refs_(num_blocks, 0),
      evictable_pos_(num_blocks),
      block_hash_(num_blocks, 0),
      in_evictable_(num_blocks, false) {
  free_.reserve(num_blocks);
  // Handed out from the back: block 0 first.
  for (int64_t b = num_blocks - 1; b >= 0; --b) free_.push_back(static_cast<int32_t>(b));
}

int32_t BlockManager::Allocate() {
  int32_t b;
  if (!free_.empty()) {
    b = free_.back();
    free_.pop_back();
  } else if (!evictable_.empty()) {
    b = evictable_.front();
    evictable_.pop_front();
    in_evictable_[b] = false;
    hash_to_block_.erase(block_hash_[b]);
    block_hash_[b] = 0;
  } else {
    return -1;
  }
  refs_[b] = 1;
  return b;
}

void BlockManager::Ref(int32_t block) {
  if (refs_[block] == 0 && in_evictable_[block]) {
    evictable_.erase(evictable_pos_[block]);
    in_evictable_[block] = false;
  }
  ++refs_[block];
}

void BlockManager::Unref(int32_t block) {
  FW_CHECK(refs_[block] > 0) << "Unref of free block " << block;
  if (--refs_[block] > 0) return;
  if (block_hash_[block] != 0) {
    evictable_pos_[block] = evictable_.insert(evictable_.end(), block);
    in_evictable_[block] = true;
  } else {
    free_.push_back(block);
  }
}

void BlockManager::UnrefAll(absl::Span<const int32_t> blocks) {
  for (int32_t b : blocks) Unref(b);
}

uint64_t BlockManager::BlockHash(uint64_t previous, absl::Span<const int32_t> tokens,
                                 int64_t version) {
  uint64_t h = Mix(previous ^ 0x243f6a8885a308d3ull) ^ Mix(static_cast<uint64_t>(version));
  for (int32_t t : tokens) h = Mix(h ^ static_cast<uint32_t>(t));
  return h | 1;  // Never 0, which marks an unpublished block.
}

int32_t BlockManager::Lookup(uint64_t hash) {
  auto it = hash_to_block_.find(hash);
  if (it == hash_to_block_.end()) return -1;
  Ref(it->second);
  return it->second;
}

void BlockManager::Publish(int32_t block, uint64_t hash) {
  if (block_hash_[block] != 0 || hash_to_block_.count(hash)) return;
  block_hash_[block] = hash;
  hash_to_block_[hash] = block;
}

void BlockManager::ClearPrefixCache() {
  for (int32_t b : evictable_) {
    in_evictable_[b] = false;
    free_.push_back(b);
  }
  evictable_.clear();
  for (auto& [hash, block] : hash_to_block_) block_hash_[block] = 0;
  hash_to_block_.clear();
}

}  // namespace flywheel::rollout
