// BPE merging: the two merge strategies against each other, and the model's load checks.
#include "common/tokenizer/bpe_model.h"

#include <random>

#include "gtest/gtest.h"

namespace flywheel::tokenizer {
namespace {

// A random merge table over `alphabet` base symbols: each merge gets a fresh id, and its parts
// are earlier symbols, so merges chain the way real BPE vocabularies do.
MergeTable RandomMerges(std::mt19937& rng, int alphabet, int count) {
  MergeTable table;
  int next_id = alphabet;
  for (int rank = 0; rank < count; ++rank) {
    int32_t a = static_cast<int32_t>(rng() % next_id), b = static_cast<int32_t>(rng() % next_id);
    if (table.emplace(PairKey(a, b), MergeInfo{rank, next_id}).second) ++next_id;
  }
  return table;
}

TEST(BpeMergeTest, HeapAndRescanAgree) {
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 200; ++trial) {
    // A tiny alphabet makes repeated pairs (and so rank ties) common.
    int alphabet = 2 + static_cast<int>(rng() % 4);
    MergeTable merges = RandomMerges(rng, alphabet, 30);
    for (int word = 0; word < 20; ++word) {
      std::vector<int32_t> symbols(1 + rng() % 120);
      for (int32_t& s : symbols) s = static_cast<int32_t>(rng() % alphabet);
      std::vector<int32_t> by_rescan = symbols, by_heap = symbols;
      ApplyMerges(merges, &by_rescan, MergeStrategy::kRescan);
      ApplyMerges(merges, &by_heap, MergeStrategy::kHeap);
      ASSERT_EQ(by_rescan, by_heap) << "trial " << trial << " word " << word;
    }
  }
}

TEST(BpeMergeTest, LowestRankFirstThenLeftmost) {
  // Symbols a=0 b=1; merges: (a,a)->2 rank 0, (2,a)->3 rank 1.
  MergeTable merges;
  merges[PairKey(0, 0)] = {0, 2};
  merges[PairKey(2, 0)] = {1, 3};
  std::vector<int32_t> aaa = {0, 0, 0};
  ApplyMerges(merges, &aaa);
  EXPECT_EQ(aaa, (std::vector<int32_t>{3}));  // (aa)a, not a(aa)
  std::vector<int32_t> aaaa = {0, 0, 0, 0};
  ApplyMerges(merges, &aaaa);
  EXPECT_EQ(aaaa, (std::vector<int32_t>{2, 2}));  // both aa pairs merge before rank 1
}

TEST(BpeModelTest, RejectsMergesOutsideTheVocab) {
  std::vector<std::pair<std::string, int32_t>> vocab = {{"a", 0}, {"b", 1}, {"ab", 2}};
  EXPECT_TRUE(BpeModel::Create(vocab, {{"a", "b"}}, {}).ok());
  auto missing_part = BpeModel::Create(vocab, {{"a", "c"}}, {});
  EXPECT_EQ(missing_part.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing_part.status().message().find("'c' is not in the vocab"), std::string::npos)
      << missing_part.status();
  auto missing_result = BpeModel::Create(vocab, {{"b", "a"}}, {});
  EXPECT_NE(missing_result.status().message().find("'ba' is not in the vocab"), std::string::npos);
}

TEST(BpeModelTest, RejectsBadIds) {
  EXPECT_FALSE(BpeModel::Create({{"a", -1}}, {}, {}).ok());
  EXPECT_FALSE(BpeModel::Create({{"a", BpeModel::kMaxId + 1}}, {}, {}).ok());
  EXPECT_FALSE(BpeModel::Create({{"a", 0}, {"b", 0}}, {}, {}).ok());
}

TEST(BpeModelTest, UnknownSymbolsUseFallbacksOrFail) {
  std::vector<std::pair<std::string, int32_t>> vocab = {
      {"a", 0}, {"<unk>", 1}, {"<0xC3>", 2}, {"<0xA9>", 3}};
  auto strict = BpeModel::Create(vocab, {}, {});
  ASSERT_TRUE(strict.ok());
  std::vector<int32_t> ids;
  EXPECT_EQ((*strict)->EncodeWord("aé", &ids).code(), absl::StatusCode::kInvalidArgument);

  BpeOptions fallback;
  fallback.byte_fallback = true;
  auto with_bytes = BpeModel::Create(vocab, {}, fallback);
  ids.clear();
  ASSERT_TRUE((*with_bytes)->EncodeWord("aé", &ids).ok());
  EXPECT_EQ(ids, (std::vector<int32_t>{0, 2, 3}));

  BpeOptions unk;
  unk.unk_token = "<unk>";
  unk.fuse_unk = true;
  auto with_unk = BpeModel::Create(vocab, {}, unk);
  ids.clear();
  ASSERT_TRUE((*with_unk)->EncodeWord("a中中a", &ids).ok());
  EXPECT_EQ(ids, (std::vector<int32_t>{0, 1, 0}));

  unk.unk_token = "<missing>";
  EXPECT_FALSE(BpeModel::Create(vocab, {}, unk).ok());
}

}  // namespace
}  // namespace flywheel::tokenizer
