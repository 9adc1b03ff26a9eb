// One round of self-play on the servers (SGS's Algorithm 1; ALGORITHMS.md sec 4.1): the policy as
// conjecturer writes problems for the round's unsolved targets, the reward service's conjecture
// gate keeps the valid ones and derives their answers (and scores a guide rubric when the job has
// one), and the policy as solver attempts every target and every valid conjecture k times, each
// attempt scored. The result holds what the update trains on and what the round's metrics report;
// the update itself is the job loop's (selfplay_loop.cc).
//
// Thread safety: a function of its arguments; the pools are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tokenizer/tokenizer.h"
#include "flywheel/v1/rollout.pb.h"
#include "learner/algorithms/samples.h"
#include "learner/jobs/job_data.h"
#include "learner/jobs/selfplay_config.h"
#include "learner/servers/reward_pool.h"
#include "learner/servers/rollout_pool.h"

namespace flywheel::learner {

// One attempt, or one conjecture, with its sampled tokens.
struct RoundSample {
  TrainSample sample;  // prompt (the role's prompt), completion, logprobs, versions, reward
  bool truncated = false;
  double length_fraction = 0;  // completion tokens / max_tokens
};

struct RoundProblem {
  std::string text;          // the bare problem
  bool target = false;       // a dataset target, else a conjecture
  int64_t target_line = -1;  // the target's dataset line (for the solved set)
  int conjecture = -1;       // index into RoundResult::conjectures when not a target
  std::vector<RoundSample> attempts;
  int correct = 0;
  double solve_rate() const {
    return attempts.empty() ? 0.0 : static_cast<double>(correct) / attempts.size();
  }
};

struct RoundConjecture {
  RoundSample sample;
  std::string text;    // as the gate read it
  bool valid = false;  // passed the gate
  std::string reason;  // the gate's rejection reason ("too_long", ...) when not valid
  std::string answer;  // derived by the gate when valid
  double guide = 1.0;  // R_guide
  int problem = -1;    // its index in RoundResult::problems when valid
};

struct RoundResult {
  std::vector<RoundProblem> problems;  // the targets, then the valid conjectures
  std::vector<RoundConjecture> conjectures;
  double sample_seconds = 0, reward_seconds = 0;
};

struct RoundSources {
  RolloutPool* rollouts = nullptr;
  RewardPool* rewards = nullptr;
  const tokenizer::Tokenizer* tokenizer = nullptr;
};

// Runs round `round` on `rows` (the round's targets, row i of the run's stream position
// first_position + i) with `sampling` (its seed replaced per request). Targets whose line is in
// `solved` get no conjecture (they are still attempted). Seeds derive from (seed, position,
// role), so a retried request or a resumed round draws the same tokens.
absl::StatusOr<RoundResult> RunSelfPlayRound(const std::vector<const JobRow*>& rows,
                                             int64_t first_position, int64_t round,
                                             const std::set<int64_t>& solved,
                                             const SelfPlayConfig& config,
                                             const v1::SamplingParams& sampling, uint64_t seed,
                                             const RoundSources& sources,
                                             const std::atomic<bool>* cancel);

}  // namespace flywheel::learner
