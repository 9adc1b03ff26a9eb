// Small string helpers shared by the verifiers: ASCII case folding, whitespace handling, word
// counts, and the split between a completion's reasoning and its final answer region.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>

namespace flywheel::reward {

namespace internal {
inline void AppendPiece(std::string& out, std::string_view s) { out.append(s); }
template <typename T>
requires std::is_arithmetic_v<T> &&
    (!std::is_same_v<T, char>)void AppendPiece(std::string& out, T v) {
  out.append(std::to_string(v));
}
}  // namespace internal

// Concatenates strings and numbers into a message. Debian's Abseil has its own string_view, so
// absl::StrCat does not take std::string_view; this does.
template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  (internal::AppendPiece(out, args), ...);
  return out;
}

bool IsSpace(char c);
bool IsDigit(char c);
bool IsAlpha(char c);

std::string AsciiLower(std::string_view s);
std::string_view Trim(std::string_view s);
// Runs of whitespace become one space; leading and trailing whitespace is dropped.
std::string CollapseWhitespace(std::string_view s);
// Whitespace-separated words.
size_t CountWords(std::string_view s);
// Unicode code points of valid UTF-8 (continuation bytes are not counted).
size_t CountCodePoints(std::string_view s);

// Case-insensitive (ASCII) search for `needle` at or after `from`; npos if absent.
size_t FindCaseInsensitive(std::string_view hay, std::string_view needle, size_t from = 0);
// Counts non-overlapping occurrences of `needle`.
size_t CountOccurrences(std::string_view hay, std::string_view needle);

// The part of a completion that holds its final answer. Reasoning models write
// "<think>...</think> answer": the answer region is what follows the last "</think>". A completion
// that opens "<think>" and never closes it has no answer region (it was cut off mid-thought) and
// gets an empty view. Without think tags the whole completion is the answer region.
std::string_view AnswerRegion(std::string_view completion);

}  // namespace flywheel::reward
