// The arithmetic-expression language of flywheel's built-in self-play task: non-negative integer
// literals, the binary operators + - * / (a task allows a subset), and parentheses. A strict
// grammar on purpose: a conjecture the model writes is either an expression of the task's
// language, exactly evaluated, or rejected with the reason; nothing is guessed.
//
//   expr   := term (('+' | '-') term)*
//   term   := factor (('*' | '/') factor)*
//   factor := number | '(' expr ')'
//   number := '0' | [1-9][0-9]*          (no sign, no leading zeros, no decimals)
//
// Spaces between tokens are allowed. Evaluation is exact (128-bit rationals); division by zero
// and overflow are reported, never rounded.
//
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "reward/rational.h"

namespace flywheel::reward {

struct ArithLimits {
  std::string ops = "+-*";  // the binary operators allowed (a subset of "+-*/")
  int max_digits = 3;       // digits of a literal
  int max_ops = 4;          // binary operators in the expression
  size_t max_chars = 48;    // the expression's length, spaces excluded
  int max_depth = 8;        // parenthesis nesting
};

// Why an expression is not in the language; kOk when it is.
enum class ArithError {
  kOk,
  kEmpty,     // nothing to parse
  kSyntax,    // not an expression (bad token order, unbalanced parentheses, junk)
  kOperator,  // an operator or character outside the task's set
  kLiteral,   // a number with too many digits, a sign, a leading zero or a decimal point
  kTooLong,   // more characters, operators or nesting than the limits allow
  kNotExact,  // division with a remainder, or by zero
  kOverflow,  // an intermediate value past 128 bits
};

std::string_view ArithErrorName(ArithError error);

struct ArithExpr {
  Rational value;
  int ops = 0;            // binary operators used
  std::string canonical;  // the expression reprinted with only the parentheses it needs
};

struct ArithParse {
  ArithError error = ArithError::kOk;
  std::string detail;  // for humans: which character, which literal
  ArithExpr expr;      // valid when error == kOk
};

// Parses and evaluates `text` under `limits`.
ArithParse ParseArith(std::string_view text, const ArithLimits& limits);

}  // namespace flywheel::reward
