// The BPE model of tokenizer.json: a vocabulary and a ranked list of merges. A word (one
// pre-tokenized piece) starts as one symbol per byte (byte-level tokenizers) or per code point,
// and the adjacent pair with the lowest merge rank is merged, leftmost first, until no pair has a
// rank. That order is Hugging Face's and the one the model was trained with.
//
// Thread safety: any thread may call the const methods. The only mutable state is the word
// cache, whose shards each have a mutex.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace flywheel::tokenizer {

struct BpeOptions {
  // Words are raw bytes; byte b starts as the token for ByteToUnicode(b) (ByteLevel
  // pre-tokenizer present).
  bool byte_level = false;
  // A word that is itself in the vocabulary is emitted whole, without merging (Llama 3).
  bool ignore_merges = false;
  // Symbols missing from the vocabulary become <0xXX> byte tokens (SentencePiece style) ...
  bool byte_fallback = false;
  // ... or else this token; consecutive unknowns collapse into one when fuse_unk is set.
  std::optional<std::string> unk_token;
  bool fuse_unk = false;
};

// (left id, right id) -> (rank, merged id).
struct MergeInfo {
  int32_t rank;
  int32_t id;
};
using MergeTable = absl::flat_hash_map<uint64_t, MergeInfo>;

inline uint64_t PairKey(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

// Merges `symbols` in place. Both strategies give the same result: a rescan per merge
// (quadratic, fastest for short words) and a priority queue (for long words such as whitespace
// runs). Exposed so tests can check one against the other.
enum class MergeStrategy { kAuto, kRescan, kHeap };
void ApplyMerges(const MergeTable& merges, std::vector<int32_t>* symbols,
                 MergeStrategy strategy = MergeStrategy::kAuto);

class BpeModel {
 public:
  // The largest id accepted in a vocabulary; real vocabularies are far smaller, and the bound
  // keeps a corrupt file from asking for a huge id table.
  static constexpr int32_t kMaxId = (1 << 24) - 1;

  // `vocab` maps token strings (in the file's form) to ids; `merges` is in priority order. Errors
  // (InvalidArgument): ids out of range or repeated, a merge naming a token (or producing one)
  // that is not in the vocabulary, a byte-level vocabulary lacking a byte, a missing unk_token.
  static absl::StatusOr<std::unique_ptr<BpeModel>> Create(
      const std::vector<std::pair<std::string, int32_t>>& vocab,
      const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options);

  // Appends the ids of one word. `word` is raw bytes (byte_level) or valid UTF-8. Errors only
  // when a symbol is not in the vocabulary and neither byte_fallback nor unk_token can stand in.
  absl::Status EncodeWord(std::string_view word, std::vector<int32_t>* ids) const;

  std::optional<int32_t> TokenToId(std::string_view token) const;
  // Token strings by id; ids absent from the vocabulary hold an empty string.
  const std::vector<std::string>& id_to_token() const { return id_to_token_; }
  const BpeOptions& options() const { return options_; }

 private:
  BpeModel() = default;
  absl::Status InitialSymbols(std::string_view word, std::vector<int32_t>* symbols) const;

  // Ids of recently seen words. Text is Zipfian, so most words repeat; a hit skips the merges.
  // A shard stops taking new words when full (as Hugging Face's cache does) rather than evict.
  struct CacheShard {
    std::mutex mu;  // std::mutex: absl::Mutex's deadlock bookkeeping costs more than the lookup
    absl::flat_hash_map<std::string, std::vector<int32_t>> words ABSL_GUARDED_BY(mu);
  };
  static constexpr size_t kCacheShards = 32;
  static constexpr size_t kCacheWordsPerShard = 2048;
  static constexpr size_t kCacheMaxWordBytes = 64;
  mutable std::array<CacheShard, kCacheShards> cache_;

  BpeOptions options_;
  absl::flat_hash_map<std::string, int32_t> vocab_;
  std::vector<std::string> id_to_token_;
  MergeTable merges_;
  std::array<int32_t, 256> byte_ids_{};      // byte-level start symbols; -1 if absent
  std::array<int32_t, 256> fallback_ids_{};  // <0xXX> tokens; -1 if absent
  int32_t unk_id_ = -1;
};

}  // namespace flywheel::tokenizer
