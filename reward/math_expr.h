// A small parser for normalised math answers: numbers (exact rationals), + - * / ^,
// implicit multiplication, \frac, \sqrt, \pi, \infty, a few functions, single-letter symbols, and
// one level of structure on top — tuples and intervals "(a, b)", "[a, b)", sets "\{a, b\}", bare
// lists "a, b", and one relation "lhs < rhs". Anything else is a parse error and the caller
// falls back to string comparison. Parsing is recursive with an explicit depth limit, so hostile
// input fails fast instead of exhausting the stack.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "reward/rational.h"

namespace flywheel::reward {

struct ExprNode {
  enum class Kind {
    kNumber,    // `number` (exact) or `approx` when the literal overflowed
    kSymbol,    // `name`: a variable
    kConstant,  // `name`: "pi" or "infinity"
    kAdd,
    kSub,
    kMul,
    kDiv,
    kPow,
    kNeg,
    kFactorial,
    kFunc,  // `name`: sqrt, ln, log, exp, sin, cos, tan; args[1] is the root index for "root"
  };
  Kind kind = Kind::kNumber;
  Rational number;
  bool exact = true;     // kNumber: the literal fit in a Rational
  double approx = 0;     // kNumber: the literal's value when it did not
  bool decimal = false;  // kNumber: written with a decimal point or exponent
  std::string name;
  std::vector<int> args;  // child indices into ParsedAnswer::nodes
};

struct ParsedAnswer {
  enum class Shape {
    kScalar,    // items[0]
    kTuple,     // ordered items between `open` and `close`: '(' or '[' / ')' or ']'
    kSet,       // unordered items in braces
    kList,      // unordered items without brackets: "2, 3"
    kRelation,  // items[0] `relation` items[1]; relation is one of = < > <= >= !=
  };
  Shape shape = Shape::kScalar;
  char open = 0, close = 0;
  std::string relation;
  std::vector<int> items;
  std::vector<ExprNode> nodes;
};

struct ParseLimits {
  // Nesting of parentheses, braces and operators. Matches InputLimits::max_brace_depth so that an
  // answer which passed the input guard cannot hit it by braces alone.
  int max_depth = 64;
  // A 1 KiB answer has at most a few hundred nodes; the cap is a guard against blow-ups.
  size_t max_nodes = 4096;
};

// InvalidArgument when `text` is not in the grammar above or exceeds the limits.
absl::StatusOr<ParsedAnswer> ParseAnswer(std::string_view text, const ParseLimits& limits = {});

}  // namespace flywheel::reward
