// The two chat formats, written out by hand from their published Jinja templates.
#include "common/tokenizer/chat_template.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/tokenizer/utf8.h"

namespace flywheel::tokenizer {
namespace {

// Jinja's `trim` is Python's str.strip(): it removes Unicode whitespace, which for the text in
// chat messages is the White_Space set plus the ASCII separators 0x1C-0x1F.
bool IsPythonSpace(char32_t cp) { return IsUnicodeWhitespace(cp) || (cp >= 0x1C && cp <= 0x1F); }

std::string_view PythonStrip(std::string_view s) {
  if (!ValidateUtf8(s).ok()) return s;
  size_t begin = 0;
  while (begin < s.size()) {
    size_t p = begin;
    if (!IsPythonSpace(NextCodePoint(s, &p))) break;
    begin = p;
  }
  size_t end = begin;
  for (size_t p = begin; p < s.size();) {
    if (!IsPythonSpace(NextCodePoint(s, &p))) end = p;
  }
  return s.substr(begin, end - begin);
}

absl::Status CheckMessages(absl::Span<const ChatMessage> messages) {
  if (messages.empty()) return absl::InvalidArgumentError("chat: no messages");
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string& role = messages[i].role;
    if (role.empty() || role.find('\n') != std::string::npos ||
        role.find("<|") != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("chat: message ", i, " has an invalid role '", role, "'"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ChatFormat> ChatFormatFromName(std::string_view name) {
  std::string n = absl::AsciiStrToLower(AbslView(name));
  if (n == "chatml" || n == "qwen" || n == "qwen2" || n == "qwen3") return ChatFormat::kChatML;
  if (n == "llama3" || n == "llama-3") return ChatFormat::kLlama3;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown chat format '", AbslView(name), "' (known: chatml, llama3)"));
}

std::string_view ChatFormatName(ChatFormat format) {
  return format == ChatFormat::kChatML ? "chatml" : "llama3";
}

absl::StatusOr<ChatFormat> DetectChatFormat(std::string_view t) {
  if (t.find("<|im_start|>") != std::string_view::npos) return ChatFormat::kChatML;
  if (t.find("<|start_header_id|>") != std::string_view::npos) return ChatFormat::kLlama3;
  return absl::NotFoundError("chat_template is not one flywheel recognizes (chatml, llama3)");
}

absl::StatusOr<std::string> RenderChat(ChatFormat format, absl::Span<const ChatMessage> messages,
                                       const ChatTemplateOptions& options) {
  if (auto s = CheckMessages(messages); !s.ok()) return s;
  std::string out;
  if (format == ChatFormat::kChatML) {
    for (const ChatMessage& m : messages) {
      absl::StrAppend(&out, "<|im_start|>", m.role, "\n", m.content, "<|im_end|>\n");
    }
    if (options.add_generation_prompt) {
      out += "<|im_start|>assistant\n";
      if (!options.enable_thinking) out += "<think>\n\n</think>\n\n";
    }
    return out;
  }
  out = "<|begin_of_text|>";
  for (const ChatMessage& m : messages) {
    absl::StrAppend(&out, "<|start_header_id|>", m.role, "<|end_header_id|>\n\n",
                    AbslView(PythonStrip(m.content)), "<|eot_id|>");
  }
  if (options.add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

}  // namespace flywheel::tokenizer
