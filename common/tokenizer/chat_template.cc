// Chat templates: a checkpoint's Jinja template with transformers' variables, and the two named
// formats, written out by hand from their published Jinja templates.
#include "common/tokenizer/chat_template.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/tokenizer/python_str.h"
#include "common/tokenizer/utf8.h"

namespace flywheel::tokenizer {
namespace {

// Jinja's `trim` is Python's str.strip().
std::string PythonStrip(std::string_view s) {
  if (!ValidateUtf8(s).ok()) return std::string(s);
  return py::Strip(s, std::nullopt, true, true);
}

absl::StatusOr<std::string> ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

// Tokens may be written as strings or as {"content": ...} objects.
nlohmann::ordered_json ChatTemplateSpecialTokens(const nlohmann::json& config) {
  auto content = [](const nlohmann::json& v) -> std::optional<std::string> {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string()) {
      return v["content"].get<std::string>();
    }
    return std::nullopt;
  };
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const char* key : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token",
                          "cls_token", "mask_token"}) {
    if (!config.contains(key)) continue;
    if (auto c = content(config[key])) out[key] = *c;
  }
  if (config.contains("additional_special_tokens") &&
      config["additional_special_tokens"].is_array()) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& t : config["additional_special_tokens"]) {
      if (auto c = content(t)) list.push_back(*c);
    }
    out["additional_special_tokens"] = list;
  }
  return out;
}

namespace {

absl::Status ValidateJsonUtf8(const nlohmann::ordered_json& j) {
  if (j.is_string()) return ValidateUtf8(j.get_ref<const std::string&>());
  if (j.is_array()) {
    for (const auto& e : j) RETURN_IF_ERROR(ValidateJsonUtf8(e));
  }
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      RETURN_IF_ERROR(ValidateUtf8(it.key()));
      RETURN_IF_ERROR(ValidateJsonUtf8(it.value()));
    }
  }
  return absl::OkStatus();
}

nlohmann::ordered_json MessagesJson(absl::Span<const ChatMessage> messages) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const ChatMessage& m : messages) out.push_back({{"role", m.role}, {"content", m.content}});
  return out;
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
      if (options.enable_thinking == false) out += "<think>\n\n</think>\n\n";
    }
    return out;
  }
  out = "<|begin_of_text|>";
  for (const ChatMessage& m : messages) {
    absl::StrAppend(&out, "<|start_header_id|>", m.role, "<|end_header_id|>\n\n",
                    PythonStrip(m.content), "<|eot_id|>");
  }
  if (options.add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

absl::StatusOr<std::string> ChatTemplateSource(const nlohmann::json& config) {
  auto it = config.find("chat_template");
  if (it == config.end() || it->is_null()) return std::string();
  if (it->is_string()) return it->get<std::string>();
  if (it->is_array()) {
    // Named templates: [{"name": "default", "template": "..."}, {"name": "tool_use", ...}].
    std::string chosen;
    for (const auto& t : *it) {
      if (!t.is_object() || !t.contains("template") || !t["template"].is_string()) continue;
      const bool is_default = t.contains("name") && t["name"] == "default";
      if (chosen.empty() || is_default) chosen = t["template"].get<std::string>();
    }
    return chosen;
  }
  return absl::InvalidArgumentError("tokenizer_config.json: chat_template must be a string");
}

absl::StatusOr<std::unique_ptr<ChatTemplate>> ChatTemplate::FromJinja(
    std::string_view source, const nlohmann::ordered_json& special_tokens) {
  std::unique_ptr<ChatTemplate> t(new ChatTemplate());
  ASSIGN_OR_RETURN(t->jinja_, jinja::Template::Parse(source));
  if (special_tokens.is_object()) {
    for (auto it = special_tokens.begin(); it != special_tokens.end(); ++it) {
      t->special_tokens_.Set(it.key(), jinja::FromJson(it.value()));
    }
  }
  return t;
}

absl::StatusOr<std::unique_ptr<ChatTemplate>> ChatTemplate::FromTokenizerConfig(
    std::string_view text) {
  nlohmann::json config = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded() || !config.is_object()) {
    return absl::InvalidArgumentError("tokenizer_config.json: not a JSON object");
  }
  ASSIGN_OR_RETURN(std::string source, ChatTemplateSource(config));
  if (source.empty()) return absl::NotFoundError("tokenizer_config.json has no chat_template");
  return FromJinja(source, ChatTemplateSpecialTokens(config));
}

absl::StatusOr<std::unique_ptr<ChatTemplate>> ChatTemplate::FromModelDir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path config_path = fs::path(dir) / "tokenizer_config.json";
  const fs::path jinja_path = fs::path(dir) / "chat_template.jinja";
  std::string config_text = "{}";
  if (fs::exists(config_path, ec)) {
    ASSIGN_OR_RETURN(config_text, ReadText(config_path));
  }
  absl::StatusOr<std::unique_ptr<ChatTemplate>> t;
  if (fs::exists(jinja_path, ec)) {
    ASSIGN_OR_RETURN(std::string source, ReadText(jinja_path));
    nlohmann::json config = nlohmann::json::parse(config_text, nullptr, false);
    t = FromJinja(
        source, config.is_object() ? ChatTemplateSpecialTokens(config) : nlohmann::ordered_json());
  } else {
    t = FromTokenizerConfig(config_text);
  }
  if (!t.ok()) {
    return absl::Status(t.status().code(), absl::StrCat(dir, ": ", t.status().message()));
  }
  return t;
}

std::unique_ptr<ChatTemplate> ChatTemplate::Named(ChatFormat format) {
  std::unique_ptr<ChatTemplate> t(new ChatTemplate());
  t->format_ = format;
  return t;
}

absl::StatusOr<std::unique_ptr<ChatTemplate>> ChatTemplate::ForJobSpec(
    std::string_view name, const std::string& model_dir) {
  if (name.empty() || name == "auto" || name == "checkpoint") {
    auto own = FromModelDir(model_dir);
    if (own.ok() || name == "checkpoint" || !absl::IsNotFound(own.status())) return own;
    return Named(ChatFormat::kChatML);
  }
  ASSIGN_OR_RETURN(ChatFormat format, ChatFormatFromName(name));
  return Named(format);
}

absl::StatusOr<std::string> ChatTemplate::RenderInputs(const ChatTemplateInputs& in) const {
  if (!in.messages.is_array()) return absl::InvalidArgumentError("chat: messages must be a list");
  if (!in.extra.is_object() && !in.extra.is_null()) {
    return absl::InvalidArgumentError("chat: extra template variables must be an object");
  }
  if (jinja_ == nullptr) {
    std::vector<ChatMessage> messages;
    for (const auto& m : in.messages) {
      if (!m.is_object() || !m.contains("role") || !m["role"].is_string() ||
          !m.contains("content") || !m["content"].is_string()) {
        return absl::InvalidArgumentError(
            "chat: the named formats need messages with string role and content");
      }
      messages.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
    }
    ChatTemplateOptions options;
    options.add_generation_prompt = in.add_generation_prompt;
    if (in.extra.is_object() && in.extra.contains("enable_thinking") &&
        in.extra["enable_thinking"].is_boolean()) {
      options.enable_thinking = in.extra["enable_thinking"].get<bool>();
    }
    return RenderChat(format_, messages, options);
  }
  // Strings from outside must be valid UTF-8 before the engine indexes them by code point.
  for (const auto* j : {&in.messages, &in.tools, &in.documents, &in.extra}) {
    RETURN_IF_ERROR(ValidateJsonUtf8(*j));
  }
  jinja::Dict vars = special_tokens_;
  vars.Set("messages", jinja::FromJson(in.messages));
  vars.Set("tools", jinja::FromJson(in.tools));
  vars.Set("documents", jinja::FromJson(in.documents));
  vars.Set("add_generation_prompt", jinja::Value::Bool(in.add_generation_prompt));
  if (in.extra.is_object()) {
    for (auto it = in.extra.begin(); it != in.extra.end(); ++it) {
      vars.Set(it.key(), jinja::FromJson(it.value()));
    }
  }
  return jinja_->Render(vars);
}

absl::StatusOr<std::string> ChatTemplate::Render(absl::Span<const ChatMessage> messages,
                                                 const ChatTemplateOptions& options) const {
  ChatTemplateInputs in;
  in.messages = MessagesJson(messages);
  in.add_generation_prompt = options.add_generation_prompt;
  if (options.enable_thinking) in.extra["enable_thinking"] = *options.enable_thinking;
  return RenderInputs(in);
}

}  // namespace flywheel::tokenizer
