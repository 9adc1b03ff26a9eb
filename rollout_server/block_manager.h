// Which KV-cache blocks are in use, by how many sequences, and which full blocks hold a known
// prefix (the prefix cache).
//
// A block's reference count is the number of sequences whose block table names it. The n samples
// of a group share their prompt's blocks; a sequence about to write into a shared block copies
// it first (copy-on-write, done by the engine). A full block can be published under the hash of
// its content (the tokens of every block up to and including it, and the weight version); a
// later request with the same prefix looks the hash up and shares the block instead of
// recomputing it. Published blocks whose count drops to zero stay cached until their memory is
// needed, then the least recently released one is evicted.
//
// Thread safety: none; owned by the engine thread.
#pragma once

#include <cstdint>
#include <list>
#include <unordered_map>
#include <vector>

#include "absl/types/span.h"

namespace flywheel::rollout {

class BlockManager {
 public:
  BlockManager(int64_t num_blocks, int64_t block_size);

  int64_t num_blocks() const { return static_cast<int64_t>(refs_.size()); }
  int64_t block_size() const { return block_size_; }
  // Blocks that Allocate() can hand out: never used, or cached with no reference (evictable).
  int64_t num_available() const { return static_cast<int64_t>(free_.size() + evictable_.size()); }
  int64_t num_in_use() const { return num_blocks() - num_available(); }
  int32_t ref_count(int32_t block) const { return refs_[block]; }

  // A block with reference count 1, or -1 when every block is referenced. Takes a never-used
  // block first, else evicts the least recently released cached block.
  int32_t Allocate();
  void Ref(int32_t block);
  // Drops one reference; at zero the block becomes free, or evictable if it is published.
  void Unref(int32_t block);
  void UnrefAll(absl::Span<const int32_t> blocks);

  // Prefix cache. The hash of block i of a sequence chains the previous block's hash with its
  // tokens and the weight version (BlockHash).
  static uint64_t BlockHash(uint64_t previous, absl::Span<const int32_t> tokens, int64_t version);
  // A cached block with this hash, referenced once more for the caller; -1 if none.
  int32_t Lookup(uint64_t hash);
  // Records that `block` (full, referenced) holds the content `hash` names. A block already
  // published under another hash, or a hash already mapped, is left as it is.
  void Publish(int32_t block, uint64_t hash);
  // Forgets every published hash (weights changed): evictable blocks become free.
  void ClearPrefixCache();
  int64_t num_cached() const { return static_cast<int64_t>(hash_to_block_.size()); }

 private:
  int64_t block_size_;
  std::vector<int32_t> refs_;
  std::vector<int32_t> free_;     // Unpublished, unreferenced.
  std::list<int32_t> evictable_;  // Published, unreferenced; front = oldest.
  std::vector<std::list<int32_t>::iterator> evictable_pos_;
  std::vector<uint64_t> block_hash_;  // 0 = unpublished
  std::vector<bool> in_evictable_;
  std::unordered_map<uint64_t, int32_t> hash_to_block_;
};

}  // namespace flywheel::rollout
