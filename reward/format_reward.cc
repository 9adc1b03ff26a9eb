#include "reward/format_reward.h"

#include "reward/text_util.h"

namespace flywheel::reward {
namespace {

FormatVerdict Bad(std::string reason) { return FormatVerdict{false, std::move(reason)}; }

bool HasClosedBox(std::string_view s) {
  for (size_t pos = s.find("\\boxed"); pos != std::string_view::npos;
       pos = s.find("\\boxed", pos + 6)) {
    size_t k = pos + 6;
    while (k < s.size() && s[k] == ' ') ++k;
    if (k >= s.size() || s[k] != '{') continue;
    int depth = 0;
    for (size_t i = k; i < s.size(); ++i) {
      if (s[i] == '\\') {
        ++i;
        continue;
      }
      if (s[i] == '{') ++depth;
      if (s[i] == '}' && --depth == 0) {
        if (i > k + 1) return true;  // non-empty content
        break;
      }
    }
    if (depth != 0) return false;
  }
  return false;
}

}  // namespace

FormatVerdict CheckFormat(std::string_view completion, const FormatOptions& options) {
  std::string_view answer = completion;
  if (options.require_think) {
    std::string_view body = Trim(completion);
    size_t opens = CountOccurrences(body, "<think>");
    size_t closes = CountOccurrences(body, "</think>");
    if (options.think_open_in_prompt) {
      if (opens != 0) return Bad("unexpected <think> (the prompt already opened it)");
    } else {
      if (body.substr(0, 7) != "<think>") return Bad("does not start with <think>");
      if (opens != 1) return Bad("more than one <think>");
      body.remove_prefix(7);
    }
    if (closes != 1) return Bad(closes == 0 ? "no </think>" : "more than one </think>");
    size_t close = body.find("</think>");
    if (Trim(body.substr(0, close)).empty()) return Bad("empty reasoning");
    answer = body.substr(close + 8);
  }
  std::string_view trimmed = Trim(answer);
  if (trimmed.empty()) return Bad("no answer after the reasoning");
  switch (options.answer) {
    case FormatOptions::Answer::kAny:
      break;
    case FormatOptions::Answer::kBoxed:
      if (!HasClosedBox(trimmed)) return Bad("answer has no \\boxed{}");
      break;
    case FormatOptions::Answer::kTag: {
      if (CountOccurrences(trimmed, "<answer>") != 1 ||
          CountOccurrences(trimmed, "</answer>") != 1) {
        return Bad("answer needs exactly one <answer>...</answer>");
      }
      size_t open = trimmed.find("<answer>");
      size_t close = trimmed.find("</answer>");
      if (close < open) return Bad("</answer> before <answer>");
      if (Trim(trimmed.substr(open + 8, close - open - 8)).empty()) return Bad("empty <answer>");
      if (!Trim(trimmed.substr(close + 9)).empty()) return Bad("text after </answer>");
      break;
    }
  }
  return FormatVerdict{true, ""};
}

}  // namespace flywheel::reward
