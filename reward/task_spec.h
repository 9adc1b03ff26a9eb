// A task spec says how one dataset row is scored: which verifier, the gold answer, the verifier's
// options, and which extra terms (format, overlong shaping) join the total with which weights.
// Specs arrive as JSON with each row; parsing validates everything that does not depend on the
// completion (unknown verifier, missing gold, invalid regex, bad options), so a bad row fails
// once, with a message naming the field.
//
//   {
//     "verifier": "math" | "exact" | "regex" | "choice" | "rubric" | "conjecture",
//     "gold": "18"                          (exact: a string or a list of accepted strings)
//     "math":    {"extract": ["boxed", "hashes", "answer_phrase", "last_number"],
//                 "rel_tol": 1e-4, "thousands_separators": true, "strip_units": true,
//                 "percent_flexible": true, "answer_after_think": true},
//     "text":    {"case_sensitive": false, "collapse_whitespace": true, "strip_punctuation": true,
//                 "strip_articles": false, "unwrap_latex": true, "use_markers": true,
//                 "answer_after_think": true},
//     "regex":   {"pattern": "...", "full_match": true, "case_sensitive": true},
//     "choice":  {"letters": "ABCD"},
//     "rubric":  [criteria, see rubric.h],
//     "conjecture": {"target": "(12+7)*3-5", "ops": "+-*", "max_digits": 3, "max_ops": 4,
//                    "max_chars": 48, "max_abs_value": 1000000, "allow_negative": false,
//                    "batch": "round-12"}        (self-play's gate, conjecture.h; no gold)
//     "format":  {"think": true, "think_open_in_prompt": false, "answer": "any" | "boxed" | "tag"},
//     "overlong": {"max_len": 20480, "cache_len": 4096, "penalty_factor": 1.0,
//                  "unit": "tokens" | "chars"},
//     "incorrect_reward": 0.0,            (the verifier term's value when wrong; DAPO uses -1)
//     "weights": {"correct": 1.0, "format": 0.1, "overlong": 1.0, "rubric": 1.0},
//     "metadata": {...}                   (ignored)
//   }
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "reward/conjecture.h"
#include "reward/format_reward.h"
#include "reward/input_guard.h"
#include "reward/length_shaping.h"
#include "reward/math_verifier.h"
#include "reward/regex.h"
#include "reward/rubric.h"
#include "reward/text_verifiers.h"

namespace flywheel::reward {

enum class VerifierKind { kMath, kExact, kRegex, kChoice, kRubric, kConjecture };

std::string_view VerifierName(VerifierKind kind);
// Every verifier name, for ListVerifiers.
std::vector<std::string_view> VerifierNames();

// Parsed and validated. Copyable and immutable after parsing; safe to share between threads.
struct TaskSpec {
  VerifierKind verifier = VerifierKind::kMath;
  // math: one gold, already reduced by PrepareMathGold; exact: the accepted answers;
  // choice: one upper-case letter; regex, rubric: empty.
  std::vector<std::string> gold;
  MathVerifyOptions math;
  TextVerifyOptions text;
  std::shared_ptr<const Regex> regex;
  bool regex_full_match = true;
  std::string choice_letters = "ABCDEFGHIJ";
  Rubric rubric;
  ConjectureOptions conjecture;
  std::optional<FormatOptions> format;
  std::optional<OverlongOptions> overlong;
  double incorrect_reward = 0.0;
  double correct_weight = 1.0;  // the verifier's term: "correct", or "rubric" for rubrics
  double format_weight = 1.0;
  double overlong_weight = 1.0;

  // The verifier's term name in the breakdown.
  std::string_view verifier_term() const {
    return verifier == VerifierKind::kRubric ? "rubric" : "correct";
  }
};

struct TaskSpecLimits {
  InputLimits input;
  RubricLimits rubric;
  // Specs travel with each row; 1 MiB holds a rubric with long descriptions many times over.
  size_t max_spec_bytes = 1u << 20;
};

// InvalidArgument naming the offending field.
absl::StatusOr<TaskSpec> ParseTaskSpec(const nlohmann::json& json,
                                       const TaskSpecLimits& limits = {});
// The same from JSON text; InvalidArgument for malformed JSON too.
absl::StatusOr<TaskSpec> ParseTaskSpecText(std::string_view text,
                                           const TaskSpecLimits& limits = {});

}  // namespace flywheel::reward
