// The entry point of the reward library: score completions against their task specs, with the
// total, the per-term breakdown and the verifier's reading of the answer. Bad input (oversized or
// invalid UTF-8 text, braces nested past the limit, a regex that exhausts its match limit, a
// failed judge call) becomes that item's error status; other items of a batch are unaffected.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "reward/input_guard.h"
#include "reward/judge.h"
#include "reward/reward_combiner.h"
#include "reward/task_spec.h"

namespace flywheel::reward {

struct ScoreInput {
  std::string_view prompt;
  std::string_view completion;
  // Tokens in the completion, from the rollout; required only by overlong shaping in tokens.
  int64_t completion_tokens = -1;
  // Conjecture items: an earlier item of the same batch has the same conjecture (set by
  // MarkDuplicateConjectures); the gate rejects it as a duplicate.
  bool duplicate = false;
};

struct ScoreOptions {
  InputLimits limits;
  // Scores judged rubric criteria. Not owned; may be null when no spec has judged criteria.
  Judge* judge = nullptr;
};

struct CriterionResult {
  std::string title;
  double weight = 0;
  double score = 0;  // c_j in [0, 1]
  bool judged = false;
};

struct RewardResult {
  double total = 0;
  std::vector<RewardTerm> terms;          // the verifier's term first, then format, then overlong
  bool correct = false;                   // the verifier's verdict (rubric: total > 0)
  std::string answer;                     // the answer the verifier read
  std::string reason;                     // why the verifier said wrong; empty when right
  std::string format_reason;              // why the format term is 0; empty when it is 1 or absent
  std::vector<CriterionResult> criteria;  // rubric only
};

// Scores one item. Equivalent to a batch of one.
absl::StatusOr<RewardResult> ScoreItem(const TaskSpec& spec, const ScoreInput& input,
                                       const ScoreOptions& options = {});

struct ScoreRequest {
  const TaskSpec* spec = nullptr;  // not owned
  ScoreInput input;
};

// Marks, among the conjecture items of `requests`, each one whose conjecture (after normalisation)
// repeats an earlier item's with the same batch key. ScoreBatch does this itself; a caller that
// scores the items of one request separately (the reward service) calls it first.
void MarkDuplicateConjectures(std::vector<ScoreRequest>* requests);

// Scores a batch. All judged criteria of all items go to the judge in one Score call; duplicate
// conjectures are marked first (MarkDuplicateConjectures). The result has one entry per request,
// in order. Thread-compatible: concurrent calls are fine when the
// judge allows concurrent calls.
std::vector<absl::StatusOr<RewardResult>> ScoreBatch(const std::vector<ScoreRequest>& requests,
                                                     const ScoreOptions& options = {});

}  // namespace flywheel::reward
