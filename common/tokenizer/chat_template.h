// Chat templates: render a conversation to the exact text the model was fine-tuned on.
//
// A checkpoint's own template (tokenizer_config.json's "chat_template", or chat_template.jinja)
// is rendered by flywheel's Jinja engine (jinja_template.h) exactly as transformers'
// apply_chat_template renders it: the same environment settings (trim_blocks, lstrip_blocks,
// loop controls, raise_exception, strftime_now, its tojson) and the same variables (messages,
// tools, documents, add_generation_prompt, the special tokens named in tokenizer_config.json,
// and extra keys such as enable_thinking).
//
// Two formats are also known by name, for models without a template of their own:
//   chatml  (Qwen2, Qwen2.5, Qwen3):  <|im_start|>{role}\n{content}<|im_end|>\n ...
//   llama3  (Llama 3, 3.1, 3.2 without tools):
//     <|begin_of_text|><|start_header_id|>{role}<|end_header_id|>\n\n{content|trim}<|eot_id|> ...
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/tokenizer/jinja_template.h"
#include "nlohmann/json.hpp"

namespace flywheel::tokenizer {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant", ...
  std::string content;
};

enum class ChatFormat { kChatML, kLlama3 };

struct ChatTemplateOptions {
  // Ends the text with the header of an assistant turn, so the model continues as the assistant.
  bool add_generation_prompt = true;
  // Passed to the template as enable_thinking when set (Qwen3's switches thinking off with
  // false); unset, the template sees no such variable, as when transformers is not given one.
  // For the named chatml format, false puts an empty <think></think> block in the generation
  // prompt, as Qwen3's template does.
  std::optional<bool> enable_thinking{};
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

// The template in a parsed tokenizer_config.json: "chat_template" as a string, or the entry named
// "default" (else the first) of a list of {"name", "template"}; empty when there is none.
// InvalidArgument when the field has another shape.
absl::StatusOr<std::string> ChatTemplateSource(const nlohmann::json& tokenizer_config);

// transformers' special_tokens_map from a parsed tokenizer_config.json: bos_token, eos_token,
// unk_token, sep_token, pad_token, cls_token and mask_token as strings (when set), and
// additional_special_tokens as a list. These are variables every template sees.
nlohmann::ordered_json ChatTemplateSpecialTokens(const nlohmann::json& tokenizer_config);

// What a template is rendered with, in transformers' terms. JSON keeps key order (the order
// tojson prints).
struct ChatTemplateInputs {
  // Message objects: role, content (a string or a list of parts), and whatever else the
  // template reads (tool_calls, reasoning_content, name, ...).
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  nlohmann::ordered_json tools;      // null, or a list of JSON tool schemas
  nlohmann::ordered_json documents;  // null, or a list of {"title", "text"} objects
  bool add_generation_prompt = false;
  // Further template variables (enable_thinking, ...); they override the special tokens.
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};

// A chat template ready to render: a checkpoint's Jinja template, or a named format.
//
// Thread safety: immutable after creation; any thread may call Render.
class ChatTemplate {
 public:
  // A Jinja template with the special tokens it may refer to (bos_token, eos_token, ...: name
  // and content; additional_special_tokens as a JSON list). InvalidArgument for syntax errors.
  static absl::StatusOr<std::unique_ptr<ChatTemplate>> FromJinja(
      std::string_view source, const nlohmann::ordered_json& special_tokens = {});

  // From tokenizer_config.json text: its chat_template (a string, or the "default" of a named
  // list) and its special tokens. NotFound when it has no template.
  static absl::StatusOr<std::unique_ptr<ChatTemplate>> FromTokenizerConfig(
      std::string_view tokenizer_config_json);

  // A checkpoint or tokenizer directory: chat_template.jinja when present (newer transformers
  // save the template there), else tokenizer_config.json's. NotFound when neither has one.
  static absl::StatusOr<std::unique_ptr<ChatTemplate>> FromModelDir(const std::string& dir);

  // What a job spec's chat_template field names: empty or "auto" for the checkpoint's own
  // template in `model_dir` (chatml when it has none), a named format ("chatml", "llama3", ...),
  // or "checkpoint" to require the checkpoint's template. InvalidArgument for unknown names;
  // the template's own errors otherwise.
  static absl::StatusOr<std::unique_ptr<ChatTemplate>> ForJobSpec(std::string_view name,
                                                                  const std::string& model_dir);

  static std::unique_ptr<ChatTemplate> Named(ChatFormat format);

  // Renders everything transformers' apply_chat_template takes. Named formats read only the
  // messages' role and content (strings) and enable_thinking. InvalidArgument for template
  // errors, raise_exception("...") included.
  absl::StatusOr<std::string> RenderInputs(const ChatTemplateInputs& inputs) const;

  // Plain role / content messages.
  absl::StatusOr<std::string> Render(absl::Span<const ChatMessage> messages,
                                     const ChatTemplateOptions& options = {}) const;

  // True for a checkpoint's Jinja template, false for a named format.
  bool is_jinja() const { return jinja_ != nullptr; }

 private:
  ChatTemplate() = default;
  std::unique_ptr<jinja::Template> jinja_;
  jinja::Dict special_tokens_;
  ChatFormat format_ = ChatFormat::kChatML;
};

}  // namespace flywheel::tokenizer
