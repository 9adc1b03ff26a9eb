// Chat templates: render a conversation to the exact text the model was fine-tuned on. flywheel
// does not run Jinja; it knows the formats by name and recognizes them in a tokenizer_config.json
// template by their markers.
//   chatml  (Qwen2, Qwen2.5, Qwen3):  <|im_start|>{role}\n{content}<|im_end|>\n ...
//   llama3  (Llama 3, 3.1, 3.2 without tools):
//     <|begin_of_text|><|start_header_id|>{role}<|end_header_id|>\n\n{content|trim}<|eot_id|> ...
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace flywheel::tokenizer {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant", ...
  std::string content;
};

enum class ChatFormat { kChatML, kLlama3 };

struct ChatTemplateOptions {
  // Ends the text with the header of an assistant turn, so the model continues as the assistant.
  bool add_generation_prompt = true;
  // ChatML only: when false, the generation prompt carries an empty <think></think> block, which
  // is how Qwen3's template switches thinking off (enable_thinking=false).
  bool enable_thinking = true;
};

// "chatml" / "qwen" / "qwen2" / "qwen3" or "llama3" / "llama-3"; InvalidArgument otherwise.
absl::StatusOr<ChatFormat> ChatFormatFromName(std::string_view name);
std::string_view ChatFormatName(ChatFormat format);

// Recognizes the format of a Jinja chat_template by its special-token markers. NotFound when the
// template is none that flywheel knows.
absl::StatusOr<ChatFormat> DetectChatFormat(std::string_view jinja_template);

// Renders `messages`. InvalidArgument for an empty conversation or a role that is empty or holds
// a newline or a '<|' marker (it would forge turn structure).
absl::StatusOr<std::string> RenderChat(ChatFormat format, absl::Span<const ChatMessage> messages,
                                       const ChatTemplateOptions& options = {});

}  // namespace flywheel::tokenizer
