// Equality of two math answers (gold and prediction) after normalisation: exactly as rationals
// where both sides are rational, numerically with a stated tolerance where a decimal
// approximation or an irrational value is involved, structurally for tuples, intervals, sets and
// lists, by evaluation at fixed random points for simple expressions in variables, and as strings
// when either side is not math.
#pragma once

#include <string_view>

#include "reward/math_normalize.h"

namespace flywheel::reward {

struct CompareOptions {
  // Relative tolerance for a decimal that approximates a value it cannot write exactly: 2/3 vs
  // 0.6667, sqrt(2) vs 1.41421, pi vs 3.14159. 1e-4 is PRIME's grader tolerance: it accepts about
  // five significant digits and rejects coarse roundings such as 0.67 for 2/3. Decimals that
  // could be exact (0.5 vs 1/2, 1.25 vs 1.2501) are compared exactly, never with this tolerance.
  double rel_tol = 1e-4;
  // A trailing % on either side matches both the number itself and its value / 100
  // ("25%" == "25" == "0.25"), because datasets disagree on which one the gold holds.
  bool percent_flexible = true;
  NormalizeOptions normalize;
};

// True when `pred` states the same answer as `gold`. Both are raw extracted answers; they are
// normalised here. Never fails and never throws: an answer that cannot be parsed is compared as a
// normalised string. Bounded time for answers of InputLimits::max_answer_bytes.
bool MathAnswersEqual(std::string_view gold, std::string_view pred,
                      const CompareOptions& options = {});

// The same on answers that are already normalised.
bool NormalizedAnswersEqual(const NormalizedAnswer& gold, const NormalizedAnswer& pred,
                            const CompareOptions& options);

}  // namespace flywheel::reward
