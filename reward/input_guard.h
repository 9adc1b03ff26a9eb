// Limits that keep one hostile or broken item from costing more than a few milliseconds, and the
// checks that enforce them before any verifier looks at the text.
#pragma once

#include <cstddef>
#include <string_view>

#include "absl/status/status.h"

namespace flywheel::reward {

struct InputLimits {
  // A 128k-token completion is about 0.5 MiB of text; 4 MiB leaves 8x headroom while bounding
  // the linear scans every verifier does.
  size_t max_completion_bytes = 4u << 20;
  // Prompts carry documents for rubric tasks, so they get the same room as completions.
  size_t max_prompt_bytes = 4u << 20;
  // Real LaTeX answers nest a handful of levels (\frac inside \sqrt inside \boxed); 64 is far
  // beyond that and keeps the recursive expression parser's stack shallow.
  int max_brace_depth = 64;
  // The longest final answer worth comparing (a long tuple or matrix fits easily); anything longer
  // is counted wrong rather than parsed.
  size_t max_answer_bytes = 1024;
};

// Returns InvalidArgument naming the first byte offset where `text` is not valid UTF-8
// (overlong forms, surrogates and code points above U+10FFFF are invalid too).
absl::Status ValidateUtf8(std::string_view text, std::string_view what);

// Returns InvalidArgument when unescaped '{' nest deeper than `max_depth` anywhere in `text`.
// A '\{' is a literal brace in LaTeX and does not count.
absl::Status CheckBraceDepth(std::string_view text, int max_depth, std::string_view what);

// Size, UTF-8 and brace-depth checks for one completion; `what` names it in the message.
absl::Status CheckText(std::string_view text, size_t max_bytes, const InputLimits& limits,
                       std::string_view what);

}  // namespace flywheel::reward
