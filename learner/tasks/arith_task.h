// The built-in arithmetic task behind `flywheel gen-task arith` and the demo: short questions such
// as "12+7=" with their integer answers, as JSONL rows the learner (prompt, answer for SFT) and the
// reward service (task spec for the `math` verifier) read directly. Difficulty is set by the
// largest operand length and the operators. Output is a pure function of the options: numbers are
// drawn from raw std::mt19937_64 bits (whose sequence the standard fixes) rather than through
// std::uniform_int_distribution (whose algorithm each standard library chooses), so the same seed
// writes the same bytes everywhere.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace flywheel::learner {

struct ArithTaskOptions {
  int64_t train_count = 10000;  // rows in the train split
  int64_t eval_count = 500;     // rows in the eval split
  // Largest operand length in decimal digits, 1..9 (9 keeps a product inside int64). Each operand
  // first draws its length uniformly from 1..digits, then a value of that length, so short
  // operands stay common at every setting: a ladder from easy to hard in one set.
  int digits = 2;
  // A non-empty subset of "+-*", in any order; repeats are ignored.
  std::string ops = "+-";
  uint64_t seed = 0;
  // When false a subtraction's operands are ordered so its result is never negative.
  bool allow_negative = false;
  // Guard against runaway memory and time: both splits together may hold at most this many rows.
  int64_t max_total_count = 10'000'000;
};

struct ArithRow {
  std::string prompt;  // "12+7="
  std::string answer;  // "19": the exact completion a model should produce
  int64_t a = 0;
  char op = '+';
  int64_t b = 0;
  int64_t value = 0;  // a op b
};

struct ArithSplits {
  std::vector<ArithRow> train;
  std::vector<ArithRow> eval;
};

// Draws train_count + eval_count distinct questions from one seeded stream; no prompt appears in
// both splits (nor twice in one). The eval split takes the first eval_count of them, so while both
// splits together stay within a quarter of the question space it depends only on the seed, the
// difficulty and eval_count, not on the train size. Past a quarter the questions are a uniform
// sample of the whole space instead (no operand-length ladder), which stays fast up to all of it.
// InvalidArgument when digits is outside 1..9, ops is empty or holds a character other than
// + - *, a count is negative, or the total exceeds max_total_count or the number of distinct
// questions the digits and operators allow.
absl::StatusOr<ArithSplits> GenerateArithSplits(const ArithTaskOptions& options);

// How many distinct questions the options allow (saturates at INT64_MAX). InvalidArgument for bad
// digits or ops as above.
absl::StatusOr<int64_t> ArithQuestionSpace(const ArithTaskOptions& options);

// The task spec the reward service's `math` verifier scores a bare-number answer with: the gold,
// and the last-number extraction (the built-in tasks' models answer with the bare number).
nlohmann::json LastNumberMathTask(const std::string& gold);

// The task spec of an arithmetic row: LastNumberMathTask(row.answer).
nlohmann::json ArithTaskSpec(const ArithRow& row);

// One JSONL line without the newline:
// {"prompt":"12+7=","answer":"19","task":{"verifier":"math","gold":"19","math":{...}}}
std::string ArithRowJson(const ArithRow& row);

// Writes one ArithRowJson line per row to `path` atomically (a temp file beside it, then rename),
// so a reader never sees a half-written file. InternalError (with errno's text) on I/O failure;
// the temp file is removed then.
absl::Status WriteArithJsonl(const std::string& path, const std::vector<ArithRow>& rows);

}  // namespace flywheel::learner
