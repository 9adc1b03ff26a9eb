// User-supplied regular expressions (regex verifier, rubric `regex` criteria) run through PCRE2
// with explicit limits: a pattern that backtracks catastrophically returns an error for its item
// after a bounded amount of work instead of pinning a thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace flywheel::reward {

struct RegexLimits {
  // Patterns come from task specs written by people; 4 KiB is far longer than any sensible one.
  size_t max_pattern_bytes = 4096;
  // PCRE2's default match limit (10M) allows about a second of backtracking; 1M bounds a
  // pathological pattern to roughly 0.1 s while ordinary patterns use a few thousand steps.
  uint32_t match_limit = 1'000'000;
  // Backtracking depth (in PCRE2 frames): deep enough for nested groups on long subjects, small
  // enough that a runaway recursion stops early.
  uint32_t depth_limit = 100'000;
  // Heap for backtracking frames, in KiB: 16 MiB per match.
  uint32_t heap_limit_kib = 16 * 1024;
};

// A compiled pattern (UTF mode). Immutable after Compile; Search/FullMatch may be called from
// any number of threads at once (each call allocates its own match data).
class Regex {
 public:
  // InvalidArgument with PCRE2's message and the offset when the pattern does not compile, is
  // not valid UTF-8, or is longer than limits.max_pattern_bytes.
  static absl::StatusOr<std::shared_ptr<const Regex>> Compile(std::string_view pattern,
                                                              bool case_insensitive,
                                                              const RegexLimits& limits = {});
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // True when the pattern matches somewhere in `subject`. ResourceExhausted when a match limit
  // is hit; InvalidArgument when `subject` is not valid UTF-8.
  absl::StatusOr<bool> Search(std::string_view subject) const;
  // True when the pattern matches all of `subject`.
  absl::StatusOr<bool> FullMatch(std::string_view subject) const;

  const std::string& pattern() const { return pattern_; }

 private:
  Regex() = default;
  absl::StatusOr<bool> Match(std::string_view subject, uint32_t options) const;

  std::string pattern_;
  RegexLimits limits_;
  void* code_ = nullptr;  // pcre2_code_8*, kept opaque so users need no PCRE2 headers
};

}  // namespace flywheel::reward
