// Batch invariance, bitwise: a sequence's logprobs are identical alone, inside a batch of other
// sequences of other lengths, with 1, 2 or 3 threads, and token by token through the paged KV
// cache (mixed with other sequences' prefills and decode steps), with or without packed weights.
// This is the property that lets the rollout server's logprobs equal the learner's exactly.
#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>

#include "common/base/thread_pool.h"
#include "common/kernels/cpu/logprobs.h"
#include "common/model/transformer.h"
#include "gtest/gtest.h"
#include "tests/model/test_util.h"

namespace flywheel {
namespace {

using model::ModelConfig;

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Odd sizes on purpose: they exercise every edge path of the GEMM tiling and vector loops.
// `variant` is "qwen2", "qwen3", or a Llama model with RoPE scaling "linear", "llama3", "yarn".
ModelConfig OddConfig(const std::string& variant) {
  const bool qwen3 = variant == "qwen3";
  ModelConfig c = testing::TinyConfig();
  c.vocab_size = 301;
  c.hidden_size = 96;
  c.num_heads = 6;
  c.num_kv_heads = 2;
  c.head_dim = 16;
  c.intermediate_size = 200;
  c.num_layers = 2;
  c.max_position_embeddings = 256;
  if (qwen3) {
    c.model_type = "qwen3";
    c.qk_norm = true;
    c.attention_bias = false;
    c.tie_word_embeddings = false;
  }
  if (variant != "qwen2" && variant != "qwen3") {
    c.model_type = "llama";
    c.attention_bias = false;
    c.rope_scaling = testing::TestRopeScaling(variant);
  }
  return c;
}

std::vector<float> LogprobsOf(const model::Transformer& tf,
                              const std::vector<std::vector<int32_t>>& seqs, size_t index,
                              ThreadPool* pool) {
  model::ForwardResult r;
  auto st = tf.Forward(seqs, {}, &r, nullptr, pool);
  EXPECT_TRUE(st.ok()) << st;
  return r.logprobs[index];
}

// Decodes `target` token by token through a paged cache (block size 16, shuffled block ids);
// every step also carries a prefill or decode step of other sequences. Returns the logprob of
// each next token, computed from the step's logits by the same kernel Forward uses.
std::vector<float> LogprobsThroughCache(const model::Transformer& tf,
                                        const std::vector<int32_t>& target,
                                        const std::vector<std::vector<int32_t>>& others,
                                        int64_t prefill, ThreadPool* pool) {
  const ModelConfig& c = tf.config();
  const int64_t bs = 16, blocks_per_seq = (c.max_position_embeddings + bs - 1) / bs;
  const int64_t num_seqs = 1 + static_cast<int64_t>(others.size());
  model::KvCache cache(c, num_seqs * blocks_per_seq, bs);
  std::vector<int32_t> ids(cache.num_blocks());
  std::iota(ids.begin(), ids.end(), 0);
  std::shuffle(ids.begin(), ids.end(), std::mt19937(5));
  std::vector<std::vector<int32_t>> tables(num_seqs);
  for (int64_t s = 0; s < num_seqs; ++s) {
    tables[s].assign(ids.begin() + s * blocks_per_seq, ids.begin() + (s + 1) * blocks_per_seq);
  }
  std::vector<int64_t> done(others.size(), 0);  // Tokens of each other sequence already cached.
  std::vector<float> out;
  int64_t pos = 0;
  while (pos < static_cast<int64_t>(target.size()) - 1) {
    const int64_t n = pos == 0 ? prefill : 1;
    std::vector<model::SeqStep> steps;
    steps.push_back({absl::MakeConstSpan(target).subspan(pos, n), pos, tables[0]});
    for (size_t o = 0; o < others.size(); ++o) {
      // Other sequences prefill in chunks of 5 and then decode, so batches mix both kinds.
      const int64_t len = static_cast<int64_t>(others[o].size());
      if (done[o] >= len) continue;
      const int64_t m = std::min<int64_t>(done[o] == 0 ? 5 : 1, len - done[o]);
      steps.push_back({absl::MakeConstSpan(others[o]).subspan(done[o], m), done[o], tables[1 + o]});
      done[o] += m;
    }
    model::IncrementalResult r;
    auto st = tf.ForwardIncremental(steps, /*all_logits=*/true, &cache, &r, pool);
    EXPECT_TRUE(st.ok()) << st;
    if (!st.ok()) return {};
    // Rows of the target's step come first; score each of its new tokens' successors.
    for (int64_t t = 0; t < n && pos + t + 1 < static_cast<int64_t>(target.size()); ++t) {
      float lp;
      const int32_t next = target[pos + t + 1];
      kernels::logprobs_forward(&lp, nullptr, nullptr, r.logits.data() + t * c.vocab_size, &next, 1,
                                c.vocab_size, pool);
      out.push_back(lp);
    }
    pos += n;
  }
  return out;
}

class InvarianceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(InvarianceTest, LogprobsAreBitwiseIdentical) {
  const ModelConfig config = OddConfig(GetParam());
  auto tf_or = model::Transformer::Create(testing::PerturbedModel(config, 3));
  ASSERT_TRUE(tf_or.ok()) << tf_or.status();
  model::Transformer& tf = **tf_or;
  const auto target = testing::RandomSequences({45}, config.vocab_size, 1)[0];
  const auto others = testing::RandomSequences({3, 70, 12, 1, 33, 64, 20}, config.vocab_size, 2);
  ThreadPool one(1), two(2), three(3);

  const std::vector<float> alone = LogprobsOf(tf, {target}, 0, &one);
  ASSERT_EQ(alone.size(), target.size() - 1);
  for (ThreadPool* pool : {&one, &two, &three}) {
    std::vector<std::vector<int32_t>> batch = others;
    batch.insert(batch.begin() + 3, target);  // The target in the middle of 7 others.
    EXPECT_TRUE(SameBits(LogprobsOf(tf, batch, 3, pool), alone))
        << "batched, " << pool->num_threads() << " threads";
    EXPECT_TRUE(SameBits(LogprobsOf(tf, {target}, 0, pool), alone))
        << "alone, " << pool->num_threads() << " threads";
  }
  EXPECT_TRUE(SameBits(LogprobsThroughCache(tf, target, others, 1, &two), alone))
      << "token by token through the KV cache";
  EXPECT_TRUE(SameBits(LogprobsThroughCache(tf, target, others, 17, &one), alone))
      << "17-token prefill, then decode";
  tf.PackInferenceWeights(&two);
  EXPECT_TRUE(SameBits(LogprobsThroughCache(tf, target, others, 1, &three), alone))
      << "token by token with packed inference weights";
  EXPECT_TRUE(SameBits(LogprobsOf(tf, {target}, 0, &two), alone)) << "forward, packed weights";
}

INSTANTIATE_TEST_SUITE_P(Models, InvarianceTest,
                         ::testing::Values("qwen2", "qwen3", "linear", "llama3", "yarn"),
                         [](const auto& info) { return info.param; });

TEST(InvarianceTest, IncrementalRejectsBadSteps) {
  const ModelConfig config = OddConfig("qwen2");
  auto tf = model::Transformer::Create(testing::PerturbedModel(config, 3));
  ASSERT_TRUE(tf.ok());
  model::KvCache cache(config, 4, 16);
  std::vector<int32_t> toks = {1, 2, 3};
  std::vector<int32_t> table = {0};
  std::vector<int32_t> bad_ids = {1, 400};
  std::vector<int32_t> bad_table = {9};
  model::IncrementalResult r;
  auto run = [&](std::vector<model::SeqStep> steps) {
    return (*tf)->ForwardIncremental(steps, false, &cache, &r, nullptr);
  };
  EXPECT_TRUE(run({{toks, 0, table}}).ok());
  EXPECT_EQ(run({{bad_ids, 0, table}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(run({{toks, 0, bad_table}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(run({{toks, 15, table}}).code(),
            absl::StatusCode::kInvalidArgument);  // Needs 2 blocks.
  EXPECT_EQ(run({{toks, 255, {0, 1, 2, 3}}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(run({{{}, 0, table}}).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace flywheel
