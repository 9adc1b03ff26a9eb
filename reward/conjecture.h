// The gate of self-play (ALGORITHMS.md sec 4.5): the `conjecture` verifier decides whether a
// problem the conjecturer wrote may enter the solver's training pool, and derives its answer by
// exact evaluation, so the solver's attempts on it can be scored without a label. A conjecture is
// the completion's text up to its first '=' or line break; it passes when it is an expression of
// the task's language (arith_expr.h), evaluates exactly to an integer within range, is not a bare
// number, is not its target again (after normalisation), and is not a duplicate of an earlier
// conjecture of the same batch. Otherwise the verdict names the one reason:
//
//   unparseable, not_in_grammar, not_exact, out_of_range, too_long, trivial, copy_of_target,
//   duplicate
//
// Pure functions; safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "reward/arith_expr.h"
#include "reward/verdict.h"

namespace flywheel::reward {

struct ConjectureOptions {
  std::string target;               // the problem the conjecture was written for, e.g. "(12+7)*3"
  ArithLimits limits;               // the task's operators, literal digits, length
  int64_t max_abs_value = 1000000;  // |value| above this is out_of_range
  bool allow_negative = false;      // a negative value is out_of_range unless allowed
  std::string batch;  // conjectures of one batch key are checked for duplicates together
};

// The conjecture in a completion: its text up to the first '=' or line break, trimmed.
std::string_view ExtractConjecture(std::string_view completion);

// The verdict on a completion's conjecture, duplicates aside (see ConjectureKey): correct when it
// passes the gate, with its value as the answer; otherwise reason "<reason>: <detail>".
Verdict VerifyConjecture(std::string_view completion, const ConjectureOptions& options);

// The normalised form two duplicate conjectures share (the canonical expression), or nullopt
// when the completion's conjecture does not parse. A batch keeps the first of several items with
// the same (batch, key); the later ones are rejected as duplicate.
std::optional<std::string> ConjectureKey(std::string_view completion,
                                         const ConjectureOptions& options);

}  // namespace flywheel::reward
