// Normalisation of an extracted math answer into the plain LaTeX-ish form that the expression
// parser reads and that string comparison falls back to. It removes what changes the look of an
// answer but not its value: math delimiters, \left/\right and spacing commands, \text{} wrappers,
// currency symbols, thousands separators, degree marks, trailing units and punctuation, and
// records a trailing percent sign instead of keeping it.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace flywheel::reward {

struct NormalizeOptions {
  // "1,000" -> "1000" when every group after the first comma has exactly three digits and no space
  // follows the comma. Off for datasets whose answers are comma-separated lists of small numbers.
  bool thousands_separators = true;
  // "540 meters", "18 dollars", "5\text{ cm}" -> the number, when a number precedes the words.
  bool strip_units = true;
};

struct NormalizedAnswer {
  std::string text;
  bool percent = false;  // a trailing "%", "\%" or "percent" was removed
  // The answer offers alternatives ("3 or 4", "either 3 or 4", "3 \lor 4"): a hedge, which the
  // verifier counts wrong unless the gold itself is phrased that way.
  bool hedged = false;
};

// Never fails: text that is not math comes back trimmed and unwrapped, for string comparison.
// Runs in time linear in the answer length (times a small constant number of passes).
NormalizedAnswer NormalizeMathAnswer(std::string_view answer, const NormalizeOptions& options = {});

// Replaces every "\name{X}" for the given control words (with backslash) by "X", or " X " when
// `pad_with_spaces` (which keeps "5\text{cm}" from gluing into a symbol). Braces are matched; a
// wrapper whose group never closes is left as it is. Linear in the length of `s`.
std::string UnwrapCommands(std::string_view s, std::initializer_list<std::string_view> names,
                           bool pad_with_spaces);

}  // namespace flywheel::reward
