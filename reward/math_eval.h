// Evaluation of parsed answers (math_expr.h): exact rational arithmetic while every step stays
// rational, doubles once a step leaves the rationals (roots, pi, overflow), and symbol values
// supplied by the caller for identity tests.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "reward/math_expr.h"
#include "reward/rational.h"

namespace flywheel::reward {

// The value of an expression. Exact while every step stays rational; otherwise a double.
struct Value {
  bool exact = true;
  Rational q;
  double d = 0;          // always set (q's value when exact)
  bool decimal = false;  // a decimal literal took part: the writer may have rounded
  bool infinite = false;
};

// Values for symbols during evaluation; returns false for an unknown symbol.
using SymbolLookup = std::function<bool(std::string_view name, double* value)>;

// Evaluates node `index` of `answer`. InvalidArgument for free symbols without a lookup, division
// by zero, roots of negative numbers, factorials of non-integers, and finite inputs that overflow
// to infinity.
absl::StatusOr<Value> Evaluate(const ParsedAnswer& answer, int index,
                               const SymbolLookup& lookup = nullptr);

// Appends the names of the symbols under node `index` (with repeats).
void CollectSymbols(const ParsedAnswer& answer, int index, std::vector<std::string>* names);

}  // namespace flywheel::reward
