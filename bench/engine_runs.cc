#include "bench/engine_runs.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <latch>
#include <random>
#include <thread>

#include "common/model/parameters.h"

namespace flywheel::bench {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::vector<int32_t> RandomPrompt(int64_t vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> dist(0, static_cast<int32_t>(vocab) - 1);
  std::vector<int32_t> p(kPromptTokens);
  for (auto& t : p) t = dist(rng);
  return p;
}

model::ModelWeights FastRandomModel(const model::ModelConfig& config, uint64_t seed) {
  model::ModelWeights w{config, {}};
  model::ParameterLayout layout(config);
  w.params.resize(layout.num_params());
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (float& v : w.params) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;  // xorshift64
    v = (static_cast<float>(x >> 40) * 0x1.0p-24f - 0.5f) * 0.07f;
  }
  for (const auto& t : layout.tensors()) {
    if (t.name.find("norm") != std::string::npos) {
      std::fill(w.params.begin() + t.offset, w.params.begin() + t.offset + t.numel, 1.0f);
    }
  }
  return w;
}

void StepLog::Attach(rollout::EngineOptions* options) {
  options->on_step = [this](double, const rollout::EngineStats& stats) {
    std::lock_guard<std::mutex> lock(mu_);
    records_.push_back({Now(), stats.generated_tokens.load(), stats.prefill_tokens.load()});
  };
}

void StepLog::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  records_.clear();
}

std::vector<StepRecord> StepLog::Snapshot() {
  std::lock_guard<std::mutex> lock(mu_);
  return records_;
}

double DecodeTokensPerSecond(rollout::Engine* engine, StepLog* log, int requests, int64_t n,
                             int64_t max_tokens, uint32_t seed, int64_t prompt_tokens) {
  log->Clear();
  std::latch done(requests);
  std::atomic<bool> failed{false};
  for (int r = 0; r < requests; ++r) {
    rollout::GenerateParams p;
    std::mt19937 rng(seed * 1000 + r);
    std::uniform_int_distribution<int32_t> dist(
        0, static_cast<int32_t>(engine->config().vocab_size) - 1);
    p.prompt.resize(prompt_tokens);
    for (auto& t : p.prompt) t = dist(rng);
    p.n = n;
    p.max_tokens = max_tokens;
    p.sampling.temperature = 1.0f;
    p.sampling.seed = seed * 1000 + r;
    absl::Status st = engine->Generate(std::move(p), [&](auto result) {
      if (!result.ok()) failed = true;
      done.count_down();
    });
    if (!st.ok()) {
      std::fprintf(stderr, "bench: %s\n", st.ToString().c_str());
      failed = true;
      done.count_down();
    }
  }
  done.wait();
  const std::vector<StepRecord> recs = log->Snapshot();
  if (failed || recs.empty()) return 0;
  size_t first = 0;  // The last step whose prefill counter moved.
  for (size_t i = 0; i < recs.size(); ++i) {
    if (i == 0 || recs[i].prefill != recs[i - 1].prefill) first = i;
  }
  const StepRecord& a = recs[first];
  const StepRecord& b = recs.back();
  if (b.end <= a.end) return 0;
  return static_cast<double>(b.generated - a.generated) / (b.end - a.end);
}

double BestDecodeRate(rollout::Engine* engine, StepLog* log, int requests, int64_t n,
                      int64_t max_tokens, int reps, double budget, int64_t prompt_tokens) {
  const int64_t batch = requests * n;
  const double warm = DecodeTokensPerSecond(engine, log, requests, n, 3, 99, prompt_tokens);
  const int64_t tokens = std::clamp<int64_t>(
      static_cast<int64_t>(budget / reps * warm / static_cast<double>(batch)), 4, max_tokens);
  if (tokens < max_tokens) {
    std::fprintf(stderr,
                 "bench: batch %lld decodes at %.1f tok/s; %lld tokens per sample to stay in the "
                 "time budget\n",
                 static_cast<long long>(batch), warm, static_cast<long long>(tokens));
  }
  double best = 0;
  const double start = Now();
  for (int r = 0; r < reps && (r == 0 || Now() - start < budget); ++r) {
    best = std::max(best, DecodeTokensPerSecond(engine, log, requests, n, tokens,
                                                static_cast<uint32_t>(r + 1), prompt_tokens));
  }
  return best;
}

int64_t PeakResidentBytes(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/status");
  std::string key;
  while (in >> key) {
    if (key == "VmHWM:") {
      int64_t kib = 0;
      in >> kib;
      return kib * 1024;
    }
    std::string rest;
    std::getline(in, rest);
  }
  return 0;
}

}  // namespace flywheel::bench
