// The rollout engine against the model core it runs: greedy decoding is the argmax path of a
// full recompute; sampled logprobs equal the full-sequence forward bit for bit while other
// requests run; seeds reproduce samples alone or among 30 others; a group shares its prompt
// blocks; a cache too small for all requests completes them through preemption with the same
// outputs; a weight swap mid-generation is tagged per token and matches a replay.
#include "rollout_server/engine.h"

#include <cstring>
#include <future>
#include <random>

#include "common/base/thread_pool.h"
#include "common/kernels/cpu/logprobs.h"
#include "common/model/transformer.h"
#include "gtest/gtest.h"
#include "tests/model/test_util.h"
#include "tests/rollout/engine_test_util.h"

namespace flywheel {
namespace {

using rollout::Engine;
using rollout::EngineOptions;
using rollout::GenerateParams;
using rollout::SampleOutput;
using testing::MakeEngine;
using testing::MakeModel;
using testing::Params;
using testing::Prompt;
using testing::RunToEnd;
using testing::SameSamples;
using testing::SettledBlocksInUse;
using testing::Submit;

TEST(EngineTest, GreedyIsTheArgmaxPathOfFullRecompute) {
  auto engine = MakeEngine();
  auto model = MakeModel();
  const auto prompt = Prompt(11, 1);
  auto out = RunToEnd(*engine, Params(prompt, 1, 0.0f, 30));
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].tokens.size(), 30u);
  EXPECT_EQ(out[0].finish_reason, "length");
  std::vector<int32_t> seq = prompt;
  for (int32_t tok : out[0].tokens) {
    model::ForwardResult r;
    ASSERT_TRUE(model->Forward({seq}, {.logits = true}, &r, nullptr, nullptr).ok());
    const int64_t V = model->config().vocab_size;
    const float* last = r.logits.data() + (seq.size() - 1) * V;
    EXPECT_EQ(tok, std::max_element(last, last + V) - last);
    seq.push_back(tok);
  }
}

TEST(EngineTest, SampledLogprobsEqualFullForwardBitwiseUnderConcurrency) {
  EngineOptions opt;
  opt.threads = 2;
  opt.max_tokens_per_step = 64;  // Forces chunked prefills mixed with decodes.
  auto engine = MakeEngine(opt);
  auto model = MakeModel();
  std::vector<std::future<absl::StatusOr<std::vector<SampleOutput>>>> futs;
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 10; ++i) {
    prompts.push_back(Prompt(3 + 17 * i, 100 + i));
    auto p = Params(prompts.back(), 1 + i % 3, 1.0f, 10 + 7 * i, 50 + i);
    p.sampling.top_p = i % 2 ? 0.9f : 1.0f;
    p.sampling.top_k = i % 3 == 2 ? 20 : 0;
    futs.push_back(Submit(*engine, std::move(p)));
  }
  for (size_t i = 0; i < futs.size(); ++i) {
    auto r = futs[i].get();
    ASSERT_TRUE(r.ok()) << r.status();
    for (const SampleOutput& s : *r) {
      std::vector<int32_t> seq = prompts[i];
      seq.insert(seq.end(), s.tokens.begin(), s.tokens.end());
      model::ForwardResult fr;
      ASSERT_TRUE(model->Forward({seq}, {}, &fr, nullptr, nullptr).ok());
      std::vector<float> expected(fr.logprobs[0].begin() + (prompts[i].size() - 1),
                                  fr.logprobs[0].end());
      ASSERT_EQ(expected.size(), s.logprobs.size());
      EXPECT_EQ(std::memcmp(expected.data(), s.logprobs.data(), expected.size() * 4), 0)
          << "request " << i;
      for (size_t t = 0; t < s.sampling_logprobs.size(); ++t) {
        EXPECT_LE(s.sampling_logprobs[t], 0.0f);
        EXPECT_GE(s.sampling_logprobs[t], s.logprobs[t] - 1e-4f)  // Truncation only raises them.
            << "request " << i << " token " << t;
      }
    }
  }
}

TEST(EngineTest, SameSeedSameSamplesAloneOrAmongThirtyOthers) {
  const auto prompt = Prompt(20, 7);
  auto params = [&] { return Params(prompt, 4, 0.8f, 25, 1234); };
  std::vector<SampleOutput> alone;
  {
    auto engine = MakeEngine();
    alone = RunToEnd(*engine, params());
  }
  EngineOptions opt;
  opt.threads = 2;
  auto engine = MakeEngine(opt);
  std::vector<std::future<absl::StatusOr<std::vector<SampleOutput>>>> others;
  for (int i = 0; i < 15; ++i)
    others.push_back(Submit(*engine, Params(Prompt(5 + 3 * i, 900 + i), 1, 1.0f, 40, i)));
  auto crowded = Submit(*engine, params());
  for (int i = 15; i < 30; ++i)
    others.push_back(Submit(*engine, Params(Prompt(5 + 3 * i, 900 + i), 2, 1.0f, 20, i)));
  auto r = crowded.get();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(SameSamples(alone, *r));
  for (auto& f : others) EXPECT_TRUE(f.get().ok());
  // Different samples of the group differ (the stream depends on the sample index).
  EXPECT_NE(alone[0].tokens, alone[1].tokens);
}

TEST(EngineTest, GroupSharesPromptBlocks) {
  EngineOptions opt;
  opt.kv_blocks = 200;
  auto engine = MakeEngine(opt);
  // 70-token prompt = 4 full blocks + 1 partial; 16 samples of 8 tokens stay inside block 5.
  auto out = RunToEnd(*engine, Params(Prompt(70, 3), 16, 1.0f, 8));
  ASSERT_EQ(out.size(), 16u);
  // Shared: 4 full prompt blocks once, the partial block copied once per sample (copy-on-write),
  // plus the original partial block until the last sample copies it. Unshared would be 16 * 5.
  EXPECT_LE(engine->stats().peak_blocks_in_use.load(), 4 + 16 + 1);
  EXPECT_GE(engine->stats().peak_blocks_in_use.load(), 4 + 16);
  EXPECT_EQ(SettledBlocksInUse(*engine), 0) << "finished sequences free their blocks";
}

TEST(EngineTest, PreemptionUnderSmallCacheGivesSameOutputs) {
  std::vector<GenerateParams> reqs;
  for (int i = 0; i < 8; ++i)
    reqs.push_back(Params(Prompt(10 + 9 * i, 40 + i), 2, 1.0f, 60, 77 + i));
  std::vector<std::vector<SampleOutput>> big;
  {
    auto engine = MakeEngine();
    std::vector<std::future<absl::StatusOr<std::vector<SampleOutput>>>> f;
    for (const auto& p : reqs) f.push_back(Submit(*engine, p));
    for (auto& x : f) big.push_back(*x.get());
  }
  EngineOptions small;
  small.kv_blocks =
      14;  // One sample needs at most ceil((73 + 60) / 16) = 9 blocks; 16 samples run.
  auto engine = MakeEngine(small);
  std::vector<std::future<absl::StatusOr<std::vector<SampleOutput>>>> f;
  for (const auto& p : reqs) f.push_back(Submit(*engine, p));
  for (size_t i = 0; i < f.size(); ++i) {
    auto r = f[i].get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(SameSamples(big[i], *r)) << "request " << i;
  }
  EXPECT_GT(engine->stats().preemptions.load(), 0) << "the cache was meant to be too small";
  EXPECT_EQ(SettledBlocksInUse(*engine), 0);
}

TEST(EngineTest, WeightSwapMidGenerationIsTaggedAndMatchesReplay) {
  auto old_model = MakeModel(5);
  auto new_model = MakeModel(6);
  const auto prompt = Prompt(9, 11);
  std::vector<float> w(new_model->params(), new_model->params() + new_model->num_params());
  // The push must land while the sample is being generated; on a fast machine the generation can
  // win the race, so try again (each attempt on a fresh engine) until the versions are mixed.
  SampleOutput s;
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto engine = MakeEngine();
    auto fut = Submit(*engine, Params(prompt, 1, 1.0f, 200, 3));
    while (engine->stats().generated_tokens.load() < 20) std::this_thread::yield();
    std::promise<absl::Status> pushed;
    ASSERT_TRUE(
        engine->UpdateWeights(w, 2, [&](absl::Status st, double) { pushed.set_value(st); }).ok());
    EXPECT_TRUE(pushed.get_future().get().ok());
    auto r = fut.get();
    ASSERT_TRUE(r.ok()) << r.status();
    s = (*r)[0];
    EXPECT_EQ(engine->stats().version.load(), 2);
    if (s.versions.back() == 2) break;
  }
  ASSERT_EQ(s.tokens.size(), 200u);
  EXPECT_EQ(s.versions.front(), 0);
  ASSERT_EQ(s.versions.back(), 2) << "the push never landed mid-generation";
  EXPECT_TRUE(std::is_sorted(s.versions.begin(), s.versions.end()));

  // Replay through the model core: the token at position j is processed (its keys/values
  // written) by the weights that produced token j + 1; the old cache entries are kept.
  model::KvCache cache(old_model->config(), 16, 16);
  std::vector<int32_t> table(16);
  std::iota(table.begin(), table.end(), 0);
  std::vector<int32_t> seq = prompt;
  seq.insert(seq.end(), s.tokens.begin(), s.tokens.end());
  const int64_t P = static_cast<int64_t>(prompt.size()), V = old_model->config().vocab_size;
  for (size_t t = 0; t < s.tokens.size(); ++t) {
    const model::Transformer& m = s.versions[t] == 0 ? *old_model : *new_model;
    const int64_t pos0 = t == 0 ? 0 : P + t - 1;
    const int64_t n = t == 0 ? P : 1;
    model::IncrementalResult ir;
    ASSERT_TRUE(m.ForwardIncremental({{absl::MakeConstSpan(seq).subspan(pos0, n), pos0, table}},
                                     false, &cache, &ir, nullptr)
                    .ok());
    float lp;
    kernels::logprobs_forward(&lp, nullptr, nullptr, ir.logits.data(), &s.tokens[t], 1, V, nullptr);
    ASSERT_EQ(std::memcmp(&lp, &s.logprobs[t], 4), 0)
        << "token " << t << " version " << s.versions[t];
  }
}

TEST(EngineTest, BadRequestsAreRejectedAndServingContinues) {
  auto engine = MakeEngine();
  auto check = [&](GenerateParams p, const std::string& words) {
    absl::Status st = engine->Generate(std::move(p), [](auto) { ADD_FAILURE() << "must not run"; });
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << words;
    EXPECT_NE(st.message().find(words), absl::string_view::npos) << st;
  };
  check(Params(Prompt(256, 1), 1, 1, 0), "leaves no room");
  check(Params({}, 1, 1, 0), "prompt is empty");
  check(Params(Prompt(5, 1), 0, 1, 5), "n must be in");
  check(Params(Prompt(5, 1), 1 << 20, 1, 5), "n must be in");
  check(Params(Prompt(5, 1), 1, 1, 300), "exceeds the context");
  check(Params({1, 97}, 1, 1, 5), "outside the vocabulary");
  check(Params({1, -3}, 1, 1, 5), "outside the vocabulary");
  check(Params(Prompt(5, 1), 1, -0.5f, 5), "temperature");
  auto p = Params(Prompt(5, 1), 1, 1, 5);
  p.sampling.top_p = 0;
  check(p, "top_p");
  p.sampling.top_p = 1.5f;
  check(p, "top_p");
  p = Params(Prompt(5, 1), 1, 1, 5);
  p.stop_strings = {"x"};
  check(p, "tokenizer");
  EXPECT_EQ(engine->UpdateWeights({1.0f}, 3, [](auto, auto) {}).code(),
            absl::StatusCode::kInvalidArgument);
  // Still serving.
  EXPECT_EQ(RunToEnd(*engine, Params(Prompt(5, 1), 2, 1.0f, 4)).size(), 2u);
}

TEST(EngineTest, ScoreMatchesForwardAndTopK) {
  auto engine = MakeEngine();
  auto model = MakeModel();
  std::vector<rollout::ScoreItem> items = {{Prompt(7, 1), Prompt(5, 2)},
                                           {Prompt(3, 3), Prompt(9, 4)}};
  std::promise<absl::StatusOr<std::vector<rollout::ScoreOutput>>> done;
  ASSERT_TRUE(engine->Score(items, 3, [&](auto r, int64_t) { done.set_value(std::move(r)); }).ok());
  auto r = done.get_future().get();
  ASSERT_TRUE(r.ok()) << r.status();
  for (size_t i = 0; i < items.size(); ++i) {
    std::vector<int32_t> seq = items[i].prompt;
    seq.insert(seq.end(), items[i].continuation.begin(), items[i].continuation.end());
    model::ForwardResult fr;
    ASSERT_TRUE(model->Forward({seq}, {}, &fr, nullptr, nullptr).ok());
    std::vector<float> expected(fr.logprobs[0].begin() + (items[i].prompt.size() - 1),
                                fr.logprobs[0].end());
    EXPECT_EQ(std::memcmp(expected.data(), (*r)[i].logprobs.data(), expected.size() * 4), 0);
    ASSERT_EQ((*r)[i].top_ids.size(), items[i].continuation.size());
    for (size_t t = 0; t < (*r)[i].top_ids.size(); ++t) {
      EXPECT_GE((*r)[i].top_logprobs[t][0], (*r)[i].top_logprobs[t][1]);
      EXPECT_GE((*r)[i].top_logprobs[t][0],
                (*r)[i].logprobs[t]);  // The best is at least the actual.
    }
  }
  EXPECT_EQ(engine->Score({{{}, {1}}}, 0, [](auto, auto) {}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(engine->Score(items, 1000, [](auto, auto) {}).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(EngineTest, StopStringsAndStopTokensEndSamplesAtFirstMatch) {
  auto engine = MakeEngine();
  // A stand-in vocabulary: one letter per token, so matches are easy to predict.
  static const std::string kLetters = "abcdefghijklmnopqrstuvwxyz";
  auto token_bytes = [](int32_t id) { return std::string_view(kLetters).substr(id % 26, 1); };
  auto decode = [](const std::vector<int32_t>& ids) {
    std::string s;
    for (int32_t id : ids) s.push_back(kLetters[id % 26]);
    return s;
  };
  auto base = Params(Prompt(6, 21), 1, 1.0f, 60, 8);
  const auto free_run = RunToEnd(*engine, base)[0];
  const std::string text = decode(free_run.tokens);
  const std::string stop = text.substr(20, 3);
  auto with_stop = base;
  with_stop.token_bytes = token_bytes;
  with_stop.stop_strings = {stop};
  const auto stopped = RunToEnd(*engine, with_stop)[0];
  const size_t end = text.find(stop) + stop.size();  // Tokens up to the one completing the match.
  EXPECT_EQ(stopped.finish_reason, "stop");
  EXPECT_EQ(stopped.tokens,
            std::vector<int32_t>(free_run.tokens.begin(), free_run.tokens.begin() + end));

  auto with_token = base;
  with_token.stop_token_ids = {free_run.tokens[10]};
  const auto by_token = RunToEnd(*engine, with_token)[0];
  const size_t first =
      std::find(free_run.tokens.begin(), free_run.tokens.end(), free_run.tokens[10]) -
      free_run.tokens.begin();
  EXPECT_EQ(by_token.finish_reason, "stop");
  EXPECT_EQ(by_token.tokens.size(), first + 1);
}

TEST(EngineTest, ShutdownFailsPendingRequests) {
  auto engine = MakeEngine();
  auto fut = Submit(*engine, Params(Prompt(9, 11), 4, 1.0f, 200, 3));
  engine->Shutdown();
  auto r = fut.get();
  if (!r.ok()) {
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  }
  EXPECT_EQ(engine->Generate(Params(Prompt(5, 1), 1, 1, 4), [](auto) {}).code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace flywheel
