// The built-in self-play task behind `flywheel gen-task expr` and `flywheel demo --recipe
// selfplay`: arithmetic expressions with several operators and parentheses, whose answers are
// computed exactly, so a conjecture the model writes can be checked and answered without a label
// (the reward service's conjecture gate, reward/conjecture.h, speaks the same language).
//
// Three sets come from one seeded stream:
//   targets   train and held-out expressions of `target_ops` operators (harder than the warm
//             start): a self-play job's dataset and eval set;
//   warm start SFT rows of two kinds: easy problems (1 .. target_ops - 1 operators) with their
//             answers, so the model learns the solver's format; and conjecture examples (a
//             target-like expression -> one of its sub-expressions with at least one operator),
//             so it learns the conjecturer's format: a related, simpler problem.
// Expressions never go negative on the way (a subtraction is kept only when its result is >= 0)
// and stay within max_value, so every value is an exact non-negative integer. Output is a pure
// function of the options (raw engine bits, seeded_random.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace flywheel::learner {

// The solver's and the conjecturer's prompts; the self-play job spec's defaults.
inline constexpr char kDefaultSolverTemplate[] = "{problem}=";
inline constexpr char kDefaultConjectureTemplate[] = "Simpler than {target}:";

struct ExprTaskOptions {
  int64_t train_count = 500;        // targets for self-play
  int64_t eval_count = 200;         // held-out targets
  int target_ops = 3;               // operators per target
  int digits = 1;                   // operand digits, 1..4
  std::string ops = "+-*";          // a subset of "+-*"
  int64_t max_value = 999;          // every intermediate and final value in [0, max_value]
  int64_t warm_start_count = 4000;  // SFT rows, half easy problems, half conjecture examples
  std::string solver_template = kDefaultSolverTemplate;
  std::string conjecture_template = kDefaultConjectureTemplate;
  uint64_t seed = 0;
};

struct ExprProblem {
  std::string expr;  // canonical: only the parentheses it needs
  int64_t value = 0;
  int ops = 0;
};

struct ExprSplits {
  std::vector<ExprProblem> train, eval;  // distinct targets; no expression in both
  std::vector<ExprProblem> warm_problems;
  // Conjecture examples: a target-like expression and one of its sub-expressions.
  std::vector<std::pair<ExprProblem, ExprProblem>> warm_conjectures;
};

// InvalidArgument for digits outside 1..4, ops empty or not a subset of "+-*", target_ops < 2,
// negative counts, max_value < 1, or more targets asked than can be drawn distinct (the generator
// gives up after 100 draws per target).
absl::StatusOr<ExprSplits> GenerateExprSplits(const ExprTaskOptions& options);

// "{problem}" / "{target}" in `tmpl` replaced by `text`.
std::string ApplyTemplate(const std::string& tmpl, const std::string& text);

// JSONL lines (no newline):
//   a target:     {"prompt": solver prompt, "answer": "25", "problem": "3*(4+5)-2",
//                  "task": {"verifier": "math", "gold": "25", "math": {"extract":
//                  ["last_number"]}}}
//   a warm row:   {"prompt": ..., "answer": ...}  (an easy problem, or a conjecture example)
std::string ExprTargetJson(const ExprProblem& p, const ExprTaskOptions& options);
std::vector<std::string> ExprWarmStartJson(const ExprSplits& splits,
                                           const ExprTaskOptions& options);

}  // namespace flywheel::learner
