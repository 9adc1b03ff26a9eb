#include "rollout_server/kv_budget.h"

#include <string>
#include <vector>

#include "common/model/checkpoint.h"
#include "gtest/gtest.h"

namespace flywheel::rollout {
namespace {

// Qwen3-0.6B's shape: the model the issue measured at 19.4 GB resident with a fixed 4,096 blocks.
model::ModelConfig Qwen3SmallShape() { return *model::PresetConfig("qwen3-0.6b"); }

constexpr int64_t kGiB = int64_t{1} << 30;

TEST(KvBudgetTest, BlockBytesCountKeysAndValuesOfEveryLayer) {
  // 2 (K and V) x 28 layers x 16 tokens x 8 heads x 128 dims x 4 bytes = 3.5 MiB; 4,096 such
  // blocks are the ~15 GB the old fixed default allocated for this shape.
  EXPECT_EQ(KvBlockBytes(Qwen3SmallShape(), 16), 2 * 28 * 16 * 1024 * 4);
  EXPECT_EQ(4096 * KvBlockBytes(Qwen3SmallShape(), 16), 14 * kGiB);  // 15.0 GB
}

TEST(KvBudgetTest, TheCacheTakesWhatTheBudgetLeavesAndNoMore) {
  KvPlanInput in;
  in.config = Qwen3SmallShape();
  in.weight_bytes = 3 * kGiB;
  in.budget_bytes = 12 * kGiB;
  auto plan = PlanKvCache(in);
  ASSERT_TRUE(plan.ok()) << plan.status();
  const int64_t block = KvBlockBytes(in.config, in.block_size);
  // Everything fits the budget, and one more block would not.
  EXPECT_LE(in.weight_bytes + plan->activation_bytes + plan->kv_bytes, in.budget_bytes);
  EXPECT_GT(in.weight_bytes + plan->activation_bytes + plan->kv_bytes + block, in.budget_bytes);
  EXPECT_EQ(plan->kv_bytes, plan->blocks * block);
  EXPECT_LT(plan->blocks, 4096);  // The old default would not have fitted.
  EXPECT_NE(plan->summary.find(std::to_string(plan->blocks) + " blocks"), std::string::npos)
      << plan->summary;
}

TEST(KvBudgetTest, ASmallModelGetsOnlyTheBlocksItsSequencesCanUse) {
  KvPlanInput in;
  in.config = Qwen3SmallShape();
  in.config.max_position_embeddings = 256;  // 16 blocks of 16, plus one for a copy-on-write.
  in.max_running = 4;
  in.weight_bytes = kGiB;
  in.budget_bytes = 64 * kGiB;
  auto plan = PlanKvCache(in);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->blocks, 4 * 17);
}

TEST(KvBudgetTest, RefusesWhenTheWeightsDoNotFitAndSaysWhy) {
  KvPlanInput in;
  in.config = Qwen3SmallShape();
  in.weight_bytes = 3 * kGiB;
  in.budget_bytes = 2 * kGiB;
  auto plan = PlanKvCache(in);
  ASSERT_EQ(plan.status().code(), absl::StatusCode::kResourceExhausted) << plan.status();
  const std::string msg(plan.status().message());
  EXPECT_NE(msg.find("does not fit"), std::string::npos) << msg;
  EXPECT_NE(msg.find("3.00 GiB"), std::string::npos) << msg;  // The weights' size, named.
  EXPECT_NE(msg.find("--memory-budget"), std::string::npos) << msg;
}

TEST(KvBudgetTest, APushsStagingIsCountedBesideTheWeights) {
  KvPlanInput in;
  in.config = Qwen3SmallShape();
  in.weight_bytes = 3 * kGiB;
  in.budget_bytes = 12 * kGiB;
  auto alone = PlanKvCache(in);
  in.staging_bytes = 3 * kGiB;
  auto staged = PlanKvCache(in);
  ASSERT_TRUE(alone.ok() && staged.ok());
  EXPECT_LE(in.weight_bytes + in.staging_bytes + staged->activation_bytes + staged->kv_bytes,
            in.budget_bytes);
  EXPECT_LT(staged->blocks, alone->blocks);
  in.budget_bytes = 5 * kGiB;  // The weights fit, but not a second copy during a push.
  EXPECT_EQ(PlanKvCache(in).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(KvBudgetTest, ModelsOfOneServerShareTheRowBuffersButNotTheLogits) {
  const model::ModelConfig a = Qwen3SmallShape();
  model::ModelConfig b = a;
  b.vocab_size = 1000;  // Same KV rows, another vocabulary.
  const int64_t logits_a = 256 * a.vocab_size * 4, logits_b = 256 * b.vocab_size * 4;
  const int64_t rows = StepActivationBytes(a, 2048, 256) - logits_a;
  // One step's row buffers serve both models' forwards; each keeps its own logits.
  EXPECT_EQ(StepActivationBytes(std::vector<model::ModelConfig>{a, b}, 2048, 256),
            rows + logits_a + logits_b);
  KvPlanInput in;
  in.config = a;
  in.weight_bytes = 3 * kGiB;
  in.staging_bytes = 3 * kGiB;
  in.budget_bytes = 12 * kGiB;
  auto one = PlanKvCache(in);
  in.more_configs = {b};
  in.weight_bytes = in.staging_bytes = 4 * kGiB;
  auto both = PlanKvCache(in);
  ASSERT_TRUE(one.ok() && both.ok());
  EXPECT_EQ(both->activation_bytes, rows + logits_a + logits_b);
  EXPECT_LE(in.weight_bytes + in.staging_bytes + both->activation_bytes + both->kv_bytes,
            in.budget_bytes);
  EXPECT_LT(both->blocks, one->blocks);
  EXPECT_NE(both->summary.find("the weights of 2 models"), std::string::npos) << both->summary;
}

TEST(KvBudgetTest, RequestedBlocksAreCheckedAgainstTheBudget) {
  KvPlanInput in;
  in.config = Qwen3SmallShape();
  in.weight_bytes = 3 * kGiB;
  in.budget_bytes = 12 * kGiB;
  in.requested_blocks = 100;
  auto fits = PlanKvCache(in);
  ASSERT_TRUE(fits.ok()) << fits.status();
  EXPECT_EQ(fits->blocks, 100);
  in.requested_blocks = 4096;
  auto too_many = PlanKvCache(in);
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(too_many.status().message().find("--kv-blocks 4096"), std::string::npos);
}

TEST(KvBudgetTest, ParsesByteSizes) {
  EXPECT_EQ(*ParseByteSize("8G"), 8 * kGiB);
  EXPECT_EQ(*ParseByteSize("512M"), int64_t{512} << 20);
  EXPECT_EQ(*ParseByteSize("1.5GiB"), 3 * kGiB / 2);
  EXPECT_EQ(*ParseByteSize("1073741824"), kGiB);
  for (const char* bad : {"", "G", "-1G", "0", "8X", "8GG", "lots"}) {
    EXPECT_FALSE(ParseByteSize(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace flywheel::rollout
