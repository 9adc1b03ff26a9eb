// The `math` verifier: extracts the final answer of a completion, normalises it and compares it
// with the gold answer. Wrong (not an error) when there is no final answer, when the completion
// gives several different final answers, when the answer hedges ("3 or 4"), or when it is longer
// than any answer worth parsing; an error only for bad input (missing gold, a gold with several
// answers, braces nested past the limit).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "reward/math_compare.h"
#include "reward/math_extract.h"
#include "reward/verdict.h"

namespace flywheel::reward {

struct MathVerifyOptions {
  ExtractOptions extract;
  CompareOptions compare;
  // Look only after the last </think> (see AnswerRegion): boxes inside the reasoning are drafts.
  bool answer_after_think = true;
  size_t max_answer_bytes = 1024;  // see InputLimits::max_answer_bytes
};

// The gold answer in comparable form. A gold that is itself a solution ("... #### 18" or
// "... \boxed{18}") is reduced to its final answer first.
// InvalidArgument when the gold is empty, has several different final answers, or is too long.
absl::StatusOr<std::string> PrepareMathGold(std::string_view gold,
                                            const MathVerifyOptions& options);

// `gold` as returned by PrepareMathGold. InvalidArgument only when braces in the completion nest
// past options.extract.max_brace_depth.
absl::StatusOr<Verdict> VerifyMath(std::string_view gold, std::string_view completion,
                                   const MathVerifyOptions& options = {});

}  // namespace flywheel::reward
