// The `format` reward term: 1 when a completion has the required structure, else 0. The usual
// structure for reasoning models is "<think>reasoning</think> answer", where the answer may be
// required to hold a \boxed{} or to sit in "<answer>...</answer>".
#pragma once

#include <string>
#include <string_view>

namespace flywheel::reward {

struct FormatOptions {
  // Require exactly one non-empty <think>...</think> block before the answer.
  bool require_think = true;
  // The chat template already emitted "<think>" at the end of the prompt (Qwen3, DeepSeek-R1
  // templates do), so the completion starts inside the reasoning and has no opening tag.
  bool think_open_in_prompt = false;
  enum class Answer {
    kAny,    // non-empty text after the reasoning
    kBoxed,  // the answer contains a closed \boxed{...}
    kTag,    // exactly one <answer>...</answer>, non-empty, with nothing after it
  };
  Answer answer = Answer::kAny;
};

struct FormatVerdict {
  bool ok = false;
  std::string reason;  // what is missing when !ok
};

// Linear in the completion length; never fails.
FormatVerdict CheckFormat(std::string_view completion, const FormatOptions& options);

}  // namespace flywheel::reward
