#include "learner/tasks/arith_task.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "learner/tasks/jsonl_file.h"
#include "learner/tasks/seeded_random.h"

namespace flywheel::learner {
namespace {

constexpr char kAllOps[] = "+-*";

// The operators in canonical order "+-*", so "*+" and "+*" generate the same rows.
absl::StatusOr<std::string> CanonicalOps(const ArithTaskOptions& options) {
  if (options.digits < 1 || options.digits > 9) {
    return absl::InvalidArgumentError(absl::StrCat("digits must be in 1..9, got ", options.digits));
  }
  if (options.ops.empty()) return absl::InvalidArgumentError("ops must name at least one of +-*");
  for (char c : options.ops) {
    if (std::strchr(kAllOps, c) == nullptr || c == '\0') {
      return absl::InvalidArgumentError(
          absl::StrCat("ops may hold only + - *, got '", std::string(1, c), "'"));
    }
  }
  std::string ops;
  for (const char* c = kAllOps; *c != '\0'; ++c) {
    if (options.ops.find(*c) != std::string::npos) ops.push_back(*c);
  }
  return ops;
}

// Distinct (a, b) pairs for one operator with operands in [0, n).
uint64_t PairsFor(char op, uint64_t n, bool allow_negative) {
  if (op == '-' && !allow_negative) return n * (n + 1) / 2;  // a >= b
  return n * n;
}

ArithRow MakeRow(int64_t a, char op, int64_t b) {
  ArithRow row;
  row.a = a;
  row.op = op;
  row.b = b;
  // |a|, |b| < 10^9, so every result fits in int64.
  row.value = op == '+' ? a + b : op == '-' ? a - b : a * b;
  row.prompt = absl::StrCat(a, std::string(1, op), b, "=");
  row.answer = absl::StrCat(row.value);
  return row;
}

// The index-th question of the whole space, ops in canonical order, each op's pairs row-major.
ArithRow QuestionAt(uint64_t index, const std::string& ops, uint64_t n, bool allow_negative) {
  for (char op : ops) {
    const uint64_t pairs = PairsFor(op, n, allow_negative);
    if (index >= pairs) {
      index -= pairs;
      continue;
    }
    if (op == '-' && !allow_negative) {
      // Triangular: a = max a with a(a+1)/2 <= index, b = index - a(a+1)/2 <= a. The double
      // estimate is corrected in integers.
      uint64_t a = static_cast<uint64_t>((std::sqrt(8.0 * static_cast<double>(index) + 1) - 1) / 2);
      while (a * (a + 1) / 2 > index) --a;
      while ((a + 1) * (a + 2) / 2 <= index) ++a;
      return MakeRow(static_cast<int64_t>(a), op, static_cast<int64_t>(index - a * (a + 1) / 2));
    }
    return MakeRow(static_cast<int64_t>(index / n), op, static_cast<int64_t>(index % n));
  }
  return MakeRow(0, ops[0], 0);  // unreachable: index < space
}

}  // namespace

absl::StatusOr<int64_t> ArithQuestionSpace(const ArithTaskOptions& options) {
  auto ops = CanonicalOps(options);
  if (!ops.ok()) return ops.status();
  // At most 3 * 10^18 < 2^63: no saturation is needed for digits <= 9.
  const uint64_t n = Pow10(options.digits);
  uint64_t space = 0;
  for (char op : *ops) space += PairsFor(op, n, options.allow_negative);
  return static_cast<int64_t>(space);
}

absl::StatusOr<ArithSplits> GenerateArithSplits(const ArithTaskOptions& options) {
  auto ops_or = CanonicalOps(options);
  if (!ops_or.ok()) return ops_or.status();
  const std::string& ops = *ops_or;
  if (options.train_count < 0 || options.eval_count < 0) {
    return absl::InvalidArgumentError("train and eval counts must not be negative");
  }
  const int64_t total = options.train_count + options.eval_count;
  if (total > options.max_total_count) {
    return absl::InvalidArgumentError(absl::StrCat("train + eval = ", total, " rows exceeds the ",
                                                   options.max_total_count, "-row limit"));
  }
  auto space = ArithQuestionSpace(options);
  if (!space.ok()) return space.status();
  if (total > *space) {
    return absl::InvalidArgumentError(
        absl::StrCat("train + eval = ", total, " rows but digits ", options.digits, " with ops \"",
                     ops, "\" allow only ", *space, " distinct questions"));
  }

  std::mt19937_64 rng(options.seed);
  std::vector<ArithRow> rows;
  rows.reserve(static_cast<size_t>(total));
  if (total * 4 <= *space) {
    // The usual case: draw ladder operands and skip repeats. At most a quarter of the space is
    // taken, so even with the ladder's weight on short operands a fresh question stays likely and
    // the expected number of draws is a small multiple of `total`.
    std::unordered_set<std::string> seen;
    seen.reserve(static_cast<size_t>(total));
    while (static_cast<int64_t>(rows.size()) < total) {
      const char op = ops[UniformBelow(rng, ops.size())];
      int64_t a = LadderOperand(rng, options.digits);
      int64_t b = LadderOperand(rng, options.digits);
      if (op == '-' && !options.allow_negative && a < b) std::swap(a, b);
      ArithRow row = MakeRow(a, op, b);
      if (seen.insert(row.prompt).second) rows.push_back(std::move(row));
    }
  } else {
    // Most of a small space is wanted, where rejection would spend long hunting the last rare
    // questions: take a uniform random sample without repeats instead, by a Fisher-Yates shuffle
    // of the question indices that stores only the swapped entries.
    const uint64_t n = Pow10(options.digits);
    const uint64_t size = static_cast<uint64_t>(*space);
    std::unordered_map<uint64_t, uint64_t> swapped;
    auto at = [&](uint64_t i) {
      auto it = swapped.find(i);
      return it == swapped.end() ? i : it->second;
    };
    for (uint64_t i = 0; i < static_cast<uint64_t>(total); ++i) {
      const uint64_t j = i + UniformBelow(rng, size - i);
      const uint64_t pick = at(j);
      swapped[j] = at(i);
      rows.push_back(QuestionAt(pick, ops, n, options.allow_negative));
    }
  }

  ArithSplits splits;
  const auto eval_end = rows.begin() + options.eval_count;
  splits.eval.assign(std::make_move_iterator(rows.begin()), std::make_move_iterator(eval_end));
  splits.train.assign(std::make_move_iterator(eval_end), std::make_move_iterator(rows.end()));
  return splits;
}

nlohmann::json LastNumberMathTask(const std::string& gold) {
  // The model emits the bare number, with no \boxed{} or "The answer is": only the last-number
  // extraction finds it. The prompt is not part of the completion, so its operands cannot be
  // mistaken for the answer.
  return {{"verifier", "math"},
          {"gold", gold},
          {"math", {{"extract", nlohmann::json::array({"last_number"})}}}};
}

nlohmann::json ArithTaskSpec(const ArithRow& row) { return LastNumberMathTask(row.answer); }

std::string ArithRowJson(const ArithRow& row) {
  // Keys in reading order (prompt, answer, task) rather than nlohmann::json's sorted order; the
  // task spec is the same object ArithTaskSpec returns.
  nlohmann::ordered_json j;
  j["prompt"] = row.prompt;
  j["answer"] = row.answer;
  j["task"] = nlohmann::ordered_json::parse(ArithTaskSpec(row).dump());
  return j.dump();
}

absl::Status WriteArithJsonl(const std::string& path, const std::vector<ArithRow>& rows) {
  std::vector<std::string> lines;
  lines.reserve(rows.size());
  for (const ArithRow& row : rows) lines.push_back(ArithRowJson(row));
  return WriteLinesAtomic(path, lines);
}

}  // namespace flywheel::learner
