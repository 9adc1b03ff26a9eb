// Helpers the engine-level suites share (rollout decode, weight push, Qwen3-0.6B): random models
// without the cost of Box-Muller at 100M+ parameters, a log of engine steps taken from the
// engine's on_step hook, and a decode-throughput run.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/model/checkpoint.h"
#include "common/model/config.h"
#include "rollout_server/engine.h"

namespace flywheel::bench {

// Steady-clock seconds.
double Now();

// kPromptTokens random ids below vocab, deterministic in seed.
inline constexpr int64_t kPromptTokens = 16;
std::vector<int32_t> RandomPrompt(int64_t vocab, uint32_t seed);

// Random weights for timing runs: uniform in ±0.035 (standard deviation 0.02, the usual init) and
// unit norms, from a xorshift stream (RandomModel's Box-Muller takes seconds at 100M parameters).
// Timing does not depend on the values as long as they are finite.
model::ModelWeights FastRandomModel(const model::ModelConfig& config, uint64_t seed);

// What the engine's on_step hook saw: when each step ended and the token counters at that point.
struct StepRecord {
  double end;
  int64_t generated;
  int64_t prefill;
};

// Thread safety: the hook runs on the engine thread; the other methods on any thread.
class StepLog {
 public:
  // Installs the engine's on_step hook; call on the options before Engine::Create. The log must
  // outlive the engine.
  void Attach(rollout::EngineOptions* options);
  void Clear();
  std::vector<StepRecord> Snapshot();
  // Polls until pred(records) holds or `timeout` seconds pass; false on timeout.
  template <typename Pred>
  bool WaitFor(Pred pred, double timeout);

 private:
  std::mutex mu_;
  std::vector<StepRecord> records_;
};

// Generated tokens per second of the decode phase of one batch: `requests` requests of n samples
// submitted together, each generating max_tokens (temperature 1, seeded). The decode phase runs
// from the end of the last step that held a prefill to the end of the last step, so prompt
// processing, and the first token of each sample (drawn from the prefill's logits), are outside
// it. 0 if the run failed.
double DecodeTokensPerSecond(rollout::Engine* engine, StepLog* log, int requests, int64_t n,
                             int64_t max_tokens, uint32_t seed,
                             int64_t prompt_tokens = kPromptTokens);

// The best decode rate of `reps` runs of one batch shape, within about `budget` seconds: a short
// warm-up run first (thread wake-up, page faults of the KV cache) sizes the measured runs'
// length (up to max_tokens per sample) to the budget.
double BestDecodeRate(rollout::Engine* engine, StepLog* log, int requests, int64_t n,
                      int64_t max_tokens, int reps, double budget,
                      int64_t prompt_tokens = kPromptTokens);

// Peak resident memory (VmHWM) of process `pid` in bytes ("self" for this one); 0 if unreadable.
int64_t PeakResidentBytes(const std::string& pid = "self");

template <typename Pred>
bool StepLog::WaitFor(Pred pred, double timeout) {
  const double deadline = Now() + timeout;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (pred(records_)) return true;
    }
    if (Now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace flywheel::bench
