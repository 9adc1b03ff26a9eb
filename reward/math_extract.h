// Final-answer extraction for math completions. The marker kinds are tried in a fixed order of
// trust — \boxed{} / \fbox{}, then GSM8K's "#### N", then "The answer is ..." / "Answer: ...",
// then (only when asked for) the last number in the text — and the first kind that occurs wins.
// Every answer of the winning kind is returned, not just the last one: the verifier calls a
// completion with several different final answers wrong, which is what stops
// "\boxed{1} or \boxed{2}" from collecting the reward.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace flywheel::reward {

enum class AnswerSource { kNone, kBoxed, kHashes, kAnswerPhrase, kLastNumber };
std::string_view AnswerSourceName(AnswerSource source);

struct ExtractOptions {
  bool boxed = true;          // \boxed{...}, \boxed ..., \fbox{...}
  bool hashes = true;         // "#### 42" (GSM8K); markdown "#### Some heading" lines are skipped
  bool answer_phrase = true;  // "the (final) answer is ...", "Answer: ..."
  // Off by default: the last number of a completion is often a step of the reasoning, and
  // rewarding it teaches the model to end with a guess instead of stating an answer.
  bool last_number = false;
  int max_brace_depth = 64;  // see InputLimits::max_brace_depth
  // More final answers than this is itself a sign of gaming; the verifier calls it wrong.
  size_t max_answers = 64;
};

struct Extraction {
  AnswerSource source = AnswerSource::kNone;
  // The answers of the winning kind in text order, trimmed but not normalised. Boxes nested in
  // another box are part of the outer box's answer, not answers of their own.
  std::vector<std::string> answers;
  bool too_many = false;  // more than max_answers were found; `answers` holds the first ones
};

// Scans `text` (any bytes; no UTF-8 requirement) in time linear in its length.
// InvalidArgument only when braces nest deeper than options.max_brace_depth.
absl::StatusOr<Extraction> ExtractFinalAnswers(std::string_view text,
                                               const ExtractOptions& options = {});

// The boxed answers only (used for golds written as "\boxed{...}").
absl::StatusOr<std::vector<std::string>> ExtractBoxed(std::string_view text, int max_brace_depth);

}  // namespace flywheel::reward
