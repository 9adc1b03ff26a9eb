// A compiled PCRE2 pattern for the pre-tokenizers. Hugging Face compiles tokenizer.json regexes
// with Oniguruma; PCRE2 (UTF + UCP, JIT) accepts the same syntax for the patterns in use (Unicode
// classes, (?i:...), look-ahead). One difference is patched at compile time: Oniguruma's \s also
// matches U+0085 (NEL), PCRE2's does not, so \s and \S are rewritten to include it.
//
// Thread safety: a Regex is immutable after Compile; any thread may call ForEachMatch.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace flywheel::tokenizer {

class Regex {
 public:
  // Compiles `pattern` (Oniguruma/PCRE syntax), or matches it literally when `literal` is true.
  // InvalidArgument with PCRE2's message and offset if it does not compile.
  static absl::StatusOr<std::unique_ptr<Regex>> Compile(std::string_view pattern,
                                                        bool literal = false);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Calls fn(begin, end) for each non-empty, non-overlapping match in `text`, left to right (an
  // empty match advances the search by one code point). `text` must be valid UTF-8. Errors only
  // if PCRE2 gives up (match or depth limits), never for a text that merely has no match.
  absl::Status ForEachMatch(std::string_view text,
                            absl::FunctionRef<void(size_t begin, size_t end)> fn) const;

  // The pattern as given to PCRE2 after the \s rewrite (for tests and error messages).
  const std::string& compiled_pattern() const { return compiled_pattern_; }

 private:
  Regex() = default;
  void* code_ = nullptr;  // pcre2_code_8*, kept opaque so callers need not include pcre2.h
  std::string compiled_pattern_;
};

// Rewrites \s and \S (outside and inside character classes) so PCRE2 matches Oniguruma's
// whitespace set. \S inside a class is left alone: it cannot be widened without set subtraction.
std::string RewriteWhitespaceClasses(std::string_view pattern);

}  // namespace flywheel::tokenizer
