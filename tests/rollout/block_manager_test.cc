// The block manager against a plain model of it: random operation sequences with a fixed seed,
// checked step by step (reference counts, availability, what the prefix cache returns).
#include "rollout_server/block_manager.h"

#include <map>
#include <random>
#include <set>

#include "gtest/gtest.h"

namespace flywheel {
namespace {

using rollout::BlockManager;

TEST(BlockManagerTest, MatchesSimpleModelUnderRandomOperations) {
  const int kBlocks = 12;
  BlockManager bm(kBlocks, 4);
  std::map<int32_t, int> refs;            // Model: referenced blocks.
  std::map<uint64_t, int32_t> published;  // Model: hash -> block still cached.
  std::vector<int32_t> held;              // References we own (with repeats).
  std::mt19937 rng(42);
  for (int step = 0; step < 20000; ++step) {
    const int op = rng() % 6;
    if (op <= 1) {
      const int32_t b = bm.Allocate();
      const int64_t model_available = kBlocks - static_cast<int64_t>(refs.size());
      if (model_available == 0) {
        EXPECT_EQ(b, -1);
      } else {
        ASSERT_GE(b, 0);
        EXPECT_EQ(refs.count(b), 0u) << "allocated a referenced block";
        for (auto it = published.begin(); it != published.end();) {  // Eviction forgets its hash.
          it = it->second == b ? published.erase(it) : std::next(it);
        }
        refs[b] = 1;
        held.push_back(b);
      }
    } else if (op == 2 && !held.empty()) {
      const size_t i = rng() % held.size();
      bm.Unref(held[i]);
      if (--refs[held[i]] == 0) refs.erase(held[i]);
      held.erase(held.begin() + i);
    } else if (op == 3 && !held.empty()) {
      const int32_t b = held[rng() % held.size()];
      const uint64_t h = BlockManager::BlockHash(0, {static_cast<int32_t>(rng() % 5)}, 0);
      bool block_published = false;
      for (auto& [hh, bb] : published) block_published |= bb == b;
      bm.Publish(b, h);
      if (!block_published && !published.count(h)) published[h] = b;
    } else if (op == 4) {
      const uint64_t h = BlockManager::BlockHash(0, {static_cast<int32_t>(rng() % 5)}, 0);
      const int32_t b = bm.Lookup(h);
      auto it = published.find(h);
      if (it == published.end()) {
        EXPECT_EQ(b, -1);
      } else {
        EXPECT_EQ(b, it->second);
        refs[b]++;
        held.push_back(b);
      }
    } else if (op == 5 && rng() % 50 == 0) {
      bm.ClearPrefixCache();
      published.clear();
    }
    ASSERT_EQ(bm.num_in_use(), static_cast<int64_t>(refs.size())) << "step " << step;
    for (auto& [b, r] : refs) ASSERT_EQ(bm.ref_count(b), r) << "block " << b;
  }
}

TEST(BlockManagerTest, EvictsLeastRecentlyReleasedCachedBlock) {
  BlockManager bm(3, 16);
  const int32_t a = bm.Allocate(), b = bm.Allocate(), c = bm.Allocate();
  bm.Publish(a, 11);
  bm.Publish(b, 22);
  bm.Unref(b);  // Released first: evicted first.
  bm.Unref(a);
  EXPECT_EQ(bm.num_available(), 2);
  EXPECT_EQ(bm.Allocate(), b);
  EXPECT_EQ(bm.Lookup(22), -1);
  EXPECT_EQ(bm.Lookup(11), a);  // Still cached: revived with a reference.
  EXPECT_EQ(bm.ref_count(a), 1);
  EXPECT_EQ(bm.Allocate(), -1);
  bm.Unref(c);
  EXPECT_EQ(bm.Allocate(), c);
}

TEST(BlockManagerTest, HashChainsDependOnContentPositionAndVersion) {
  const uint64_t h1 = BlockManager::BlockHash(0, {1, 2, 3}, 0);
  EXPECT_NE(h1, BlockManager::BlockHash(0, {1, 2, 4}, 0));
  EXPECT_NE(h1, BlockManager::BlockHash(0, {1, 2, 3}, 1));
  EXPECT_NE(BlockManager::BlockHash(h1, {5}, 0), BlockManager::BlockHash(0, {5}, 0));
  EXPECT_EQ(h1, BlockManager::BlockHash(0, {1, 2, 3}, 0));
}

}  // namespace
}  // namespace flywheel
