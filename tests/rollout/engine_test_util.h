// Helpers of the engine tests: a small model, requests, and waiting for their results.
#pragma once

#include <chrono>
#include <cstring>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "common/model/transformer.h"
#include "gtest/gtest.h"
#include "rollout_server/engine.h"
#include "tests/model/test_util.h"

namespace flywheel::testing {

using rollout::Engine;
using rollout::EngineOptions;
using rollout::GenerateParams;
using rollout::SampleOutput;

inline model::ModelConfig EngineTestConfig() {
  model::ModelConfig c = TinyConfig();
  c.vocab_size = 97;
  c.hidden_size = 48;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 12;
  c.intermediate_size = 80;
  c.max_position_embeddings = 256;
  return c;
}

inline std::unique_ptr<model::Transformer> MakeModel(uint64_t seed = 5) {
  auto tf = model::Transformer::Create(PerturbedModel(EngineTestConfig(), seed));
  EXPECT_TRUE(tf.ok()) << tf.status();
  return std::move(*tf);
}

inline std::unique_ptr<Engine> MakeEngine(EngineOptions opt = {}, uint64_t seed = 5) {
  auto e = Engine::Create(MakeModel(seed), opt);
  EXPECT_TRUE(e.ok()) << e.status();
  return std::move(*e);
}

inline GenerateParams Params(std::vector<int32_t> prompt, int64_t n, float temperature,
                             int64_t max_tokens, uint64_t seed = 1) {
  GenerateParams p;
  p.prompt = std::move(prompt);
  p.n = n;
  p.sampling.temperature = temperature;
  p.sampling.seed = seed;
  p.max_tokens = max_tokens;
  return p;
}

inline std::future<absl::StatusOr<std::vector<SampleOutput>>> Submit(Engine& e, GenerateParams p) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<std::vector<SampleOutput>>>>();
  auto fut = promise->get_future();
  absl::Status st =
      e.Generate(std::move(p), [promise](auto r) { promise->set_value(std::move(r)); });
  if (!st.ok()) promise->set_value(st);
  return fut;
}

inline std::vector<SampleOutput> RunToEnd(Engine& e, GenerateParams p) {
  auto r = Submit(e, std::move(p)).get();
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : std::vector<SampleOutput>{};
}

inline std::vector<int32_t> Prompt(int len, uint64_t seed) {
  return RandomSequences({len}, EngineTestConfig().vocab_size, seed)[0];
}

// The engine publishes its gauges at the end of a step, just after completion callbacks run.
inline int64_t SettledBlocksInUse(Engine& e) {
  for (int i = 0; i < 200 && e.stats().blocks_in_use.load() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return e.stats().blocks_in_use.load();
}

inline bool SameSamples(const std::vector<SampleOutput>& a, const std::vector<SampleOutput>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].tokens != b[i].tokens || a[i].finish_reason != b[i].finish_reason ||
        std::memcmp(a[i].logprobs.data(), b[i].logprobs.data(), a[i].logprobs.size() * 4) != 0) {
      return false;
    }
  }
  return true;
}

}  // namespace flywheel::testing
