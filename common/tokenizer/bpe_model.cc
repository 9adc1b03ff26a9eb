// BPE merging and the model's construction checks.
#include "common/tokenizer/bpe_model.h"

#include <cstdio>
#include <queue>

#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/tokenizer/byte_level.h"
#include "common/tokenizer/utf8.h"

namespace flywheel::tokenizer {
namespace {

// Past this many symbols the heap beats rescanning: a rescan costs O(n) per merge.
constexpr size_t kRescanMaxSymbols = 48;

// Keeps the rank of every adjacent pair beside the symbols, so a merge costs one scan over
// integers and two hash lookups (for the merged symbol's new neighbours).
void MergeByRescan(const MergeTable& merges, std::vector<int32_t>* symbols) {
  std::vector<int32_t>& s = *symbols;
  size_t n = s.size();
  if (n < 2) return;
  // Inline storage covers the words kAuto sends here; tests also send longer ones.
  absl::InlinedVector<int32_t, kRescanMaxSymbols> rank(n), merged(n);
  auto lookup = [&](size_t i) {
    auto it = merges.find(PairKey(s[i], s[i + 1]));
    rank[i] = it == merges.end() ? INT32_MAX : it->second.rank;
    merged[i] = it == merges.end() ? -1 : it->second.id;
  };
  for (size_t i = 0; i + 1 < n; ++i) lookup(i);
  while (n > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < n; ++i) {
      if (rank[i] < rank[best]) best = i;  // strict: the leftmost of equal ranks wins
    }
    if (rank[best] == INT32_MAX) break;
    s[best] = merged[best];
    for (size_t i = best + 1; i + 1 < n; ++i) {
      s[i] = s[i + 1];
      rank[i] = rank[i + 1];
      merged[i] = merged[i + 1];
    }
    --n;
    if (best > 0) lookup(best - 1);
    if (best + 1 < n) lookup(best);
  }
  s.resize(n);
}

// Symbols form a linked list over their original positions; a merge keeps the left position, so
// ordering candidates by (rank, position) reproduces the rescan's leftmost-first choice.
void MergeByHeap(const MergeTable& merges, std::vector<int32_t>* symbols) {
  std::vector<int32_t>& id = *symbols;
  const int n = static_cast<int>(id.size());
  std::vector<int> prev(n), next(n);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Candidate {
    int32_t rank, pos, left, right;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  auto consider = [&](int pos) {
    if (pos < 0 || next[pos] < 0) return;
    auto it = merges.find(PairKey(id[pos], id[next[pos]]));
    if (it != merges.end()) queue.push({it->second.rank, pos, id[pos], id[next[pos]]});
  };
  for (int i = 0; i + 1 < n; ++i) consider(i);
  std::vector<bool> alive(n, true);
  while (!queue.empty()) {
    Candidate c = queue.top();
    queue.pop();
    int right = next[c.pos];
    // Stale entries: a side was merged away or grew since the candidate was queued.
    if (!alive[c.pos] || right < 0 || id[c.pos] != c.left || id[right] != c.right) continue;
    id[c.pos] = merges.find(PairKey(c.left, c.right))->second.id;
    alive[right] = false;
    next[c.pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = c.pos;
    consider(prev[c.pos]);
    consider(c.pos);
  }
  size_t out = 0;
  for (int i = 0; i < n; ++i) {
    if (alive[i]) id[out++] = id[i];
  }
  id.resize(out);
}

}  // namespace

void ApplyMerges(const MergeTable& merges, std::vector<int32_t>* symbols, MergeStrategy strategy) {
  if (strategy == MergeStrategy::kAuto) {
    strategy = symbols->size() <= kRescanMaxSymbols ? MergeStrategy::kRescan : MergeStrategy::kHeap;
  }
  if (strategy == MergeStrategy::kRescan) {
    MergeByRescan(merges, symbols);
  } else {
    MergeByHeap(merges, symbols);
  }
}

absl::StatusOr<std::unique_ptr<BpeModel>> BpeModel::Create(
    const std::vector<std::pair<std::string, int32_t>>& vocab,
    const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options) {
  std::unique_ptr<BpeModel> m(new BpeModel());
  m->options_ = std::move(options);
  m->vocab_.reserve(vocab.size());
  int32_t max_id = -1;
  for (const auto& [token, id] : vocab) {
    if (id < 0 || id > kMaxId) {
      return absl::InvalidArgumentError(
          absl::StrCat("vocab: id ", id, " of token '", token, "' is out of range"));
    }
    if (!m->vocab_.emplace(token, id).second) {
      return absl::InvalidArgumentError(absl::StrCat("vocab: token '", token, "' repeated"));
    }
    max_id = std::max(max_id, id);
  }
  m->id_to_token_.assign(static_cast<size_t>(max_id + 1), std::string());
  std::vector<bool> seen(static_cast<size_t>(max_id + 1), false);
  for (const auto& [token, id] : vocab) {
    if (seen[id]) {
      return absl::InvalidArgumentError(
          absl::StrCat("vocab: id ", id, " is used by more than one token"));
    }
    seen[id] = true;
    m->id_to_token_[id] = token;
  }

  m->merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    auto ia = m->vocab_.find(a), ib = m->vocab_.find(b);
    auto merged = m->vocab_.find(absl::StrCat(a, b));
    if (ia == m->vocab_.end() || ib == m->vocab_.end() || merged == m->vocab_.end()) {
      const std::string& missing = ia == m->vocab_.end()   ? a
                                   : ib == m->vocab_.end() ? b
                                                           : absl::StrCat(a, b);
      return absl::InvalidArgumentError(absl::StrCat(
          "merges[", rank, "] ('", a, "' '", b, "'): token '", missing, "' is not in the vocab"));
    }
    // A repeated pair takes its last rank, as Hugging Face's map construction does.
    m->merges_.insert_or_assign(PairKey(ia->second, ib->second),
                                MergeInfo{static_cast<int32_t>(rank), merged->second});
  }

  for (int b = 0; b < 256; ++b) {
    auto it = m->vocab_.find(BytesToByteLevel(std::string(1, static_cast<char>(b))));
    m->byte_ids_[b] = it == m->vocab_.end() ? -1 : it->second;
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    auto fb = m->vocab_.find(name);
    m->fallback_ids_[b] = fb == m->vocab_.end() ? -1 : fb->second;
  }
  if (m->options_.unk_token) {
    auto it = m->vocab_.find(*m->options_.unk_token);
    if (it == m->vocab_.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unk_token '", *m->options_.unk_token, "' is not in the vocab"));
    }
    m->unk_id_ = it->second;
  }
  return m;
}

absl::Status BpeModel::InitialSymbols(std::string_view word, std::vector<int32_t>* symbols) const {
  symbols->clear();
  if (options_.byte_level) {
    for (unsigned char b : word) {
      int32_t id = byte_ids_[b];
      if (id < 0) id = unk_id_;
      if (id < 0) {
        return absl::InvalidArgumentError(absl::StrCat("byte 0x", absl::Hex(b, absl::kZeroPad2),
                                                       " has no token and there is no unk_token"));
      }
      symbols->push_back(id);
    }
    return absl::OkStatus();
  }
  bool previous_unk = false;
  for (size_t pos = 0; pos < word.size();) {
    size_t start = pos;
    NextCodePoint(word, &pos);
    std::string_view ch = word.substr(start, pos - start);
    auto it = vocab_.find(AbslView(ch));
    if (it != vocab_.end()) {
      symbols->push_back(it->second);
      previous_unk = false;
      continue;
    }
    if (options_.byte_fallback) {
      bool all = true;
      for (unsigned char b : ch) all = all && fallback_ids_[b] >= 0;
      if (all) {
        for (unsigned char b : ch) symbols->push_back(fallback_ids_[b]);
        previous_unk = false;
        continue;
      }
    }
    if (unk_id_ < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", AbslView(ch), "' has no token and there is no unk_token"));
    }
    if (!(options_.fuse_unk && previous_unk)) symbols->push_back(unk_id_);
    previous_unk = true;
  }
  return absl::OkStatus();
}

absl::Status BpeModel::EncodeWord(std::string_view word, std::vector<int32_t>* ids) const {
  if (word.empty()) return absl::OkStatus();
  if (options_.ignore_merges) {
    auto it =
        options_.byte_level ? vocab_.find(BytesToByteLevel(word)) : vocab_.find(AbslView(word));
    if (it != vocab_.end()) {
      ids->push_back(it->second);
      return absl::OkStatus();
    }
  }
  const bool cacheable = word.size() <= kCacheMaxWordBytes;
  CacheShard& shard = cache_[absl::HashOf(AbslView(word)) % kCacheShards];
  if (cacheable) {
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.words.find(AbslView(word));
    if (it != shard.words.end()) {
      ids->insert(ids->end(), it->second.begin(), it->second.end());
      return absl::OkStatus();
    }
  }
  // Reused across calls on one thread: most words are short and this avoids an allocation each.
  thread_local std::vector<int32_t> symbols;
  RETURN_IF_ERROR(InitialSymbols(word, &symbols));
  ApplyMerges(merges_, &symbols);
  ids->insert(ids->end(), symbols.begin(), symbols.end());
  if (cacheable) {
    std::lock_guard<std::mutex> lock(shard.mu);
    if (shard.words.size() < kCacheWordsPerShard) shard.words.emplace(word, symbols);
  }
  return absl::OkStatus();
}

std::optional<int32_t> BpeModel::TokenToId(std::string_view token) const {
  auto it = vocab_.find(AbslView(token));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

}  // namespace flywheel::tokenizer
