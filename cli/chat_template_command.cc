// flywheel chat-template (--tokenizer-config FILE | --model DIR | --template FILE)
// Renders conversations with a checkpoint's own chat template, as transformers'
// apply_chat_template does: each stdin line is a JSON object
//   {"messages": [...], "add_generation_prompt": bool, "tools": [...], "documents": [...], ...}
// (other keys are template variables, such as enable_thinking) and each output line the
// rendered text as a JSON string. A line whose rendering fails prints {"error": "..."} instead,
// and the exit status is then 1.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "cli/command.h"
#include "common/base/flags.h"
#include "common/tokenizer/chat_template.h"
#include "nlohmann/json.hpp"

namespace flywheel::cli {
namespace {

using nlohmann::ordered_json;

constexpr char kUsage[] =
    "usage: flywheel chat-template (--tokenizer-config FILE | --model DIR | --template FILE)\n"
    "  --tokenizer-config  a tokenizer_config.json with a chat_template\n"
    "  --model             a checkpoint directory (chat_template.jinja or tokenizer_config.json)\n"
    "  --template          a Jinja template file (no special tokens defined)\n"
    "Each stdin line: {\"messages\": [...], \"add_generation_prompt\": true, \"tools\": [...],\n"
    "...extra template variables}; each output line: the rendered text as a JSON string.\n";

void Fail(const std::string& message) {
  std::fprintf(stderr, "flywheel chat-template: %s\n", message.c_str());
}

absl::StatusOr<std::string> ReadAll(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return absl::NotFoundError("cannot open " + path);
  std::string text;
  char buf[65536];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), f)) > 0;) text.append(buf, n);
  std::fclose(f);
  return text;
}

absl::StatusOr<std::unique_ptr<tokenizer::ChatTemplate>> Load(const Flags& flags) {
  if (auto dir = flags.Get("model")) return tokenizer::ChatTemplate::FromModelDir(*dir);
  if (auto file = flags.Get("tokenizer-config")) {
    auto text = ReadAll(*file);
    if (!text.ok()) return text.status();
    return tokenizer::ChatTemplate::FromTokenizerConfig(*text);
  }
  if (auto file = flags.Get("template")) {
    auto text = ReadAll(*file);
    if (!text.ok()) return text.status();
    return tokenizer::ChatTemplate::FromJinja(*text);
  }
  return absl::InvalidArgumentError("one of --tokenizer-config, --model or --template is needed");
}

// One input line to the template's inputs: the keys transformers names, the rest as extras.
absl::StatusOr<tokenizer::ChatTemplateInputs> Inputs(const std::string& line) {
  ordered_json j = ordered_json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("expected a JSON object");
  }
  tokenizer::ChatTemplateInputs in;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "messages") {
      in.messages = it.value();
    } else if (it.key() == "tools") {
      in.tools = it.value();
    } else if (it.key() == "documents") {
      in.documents = it.value();
    } else if (it.key() == "add_generation_prompt") {
      if (!it.value().is_boolean()) {
        return absl::InvalidArgumentError("add_generation_prompt must be true or false");
      }
      in.add_generation_prompt = it.value().get<bool>();
    } else {
      in.extra[it.key()] = it.value();
    }
  }
  return in;
}

int ChatTemplateCommand(const std::vector<std::string>& args) {
  int exit_code = 0;
  auto flags =
      Flags::ParseOrUsage("flywheel chat-template", args, {"tokenizer-config", "model", "template"},
                          {}, {}, kUsage, &exit_code);
  if (!flags) return exit_code;
  auto tmpl = Load(*flags);
  if (!tmpl.ok()) {
    Fail(tmpl.status().ToString());
    return 1;
  }
  int status = 0;
  std::string line, out;
  for (size_t n = 1; std::getline(std::cin, line); ++n) {
    if (line.empty()) continue;
    absl::StatusOr<std::string> text = [&]() -> absl::StatusOr<std::string> {
      auto in = Inputs(line);
      if (!in.ok()) return in.status();
      return (*tmpl)->RenderInputs(*in);
    }();
    if (text.ok()) {
      out = ordered_json(*text).dump();
    } else {
      Fail("line " + std::to_string(n) + ": " + std::string(text.status().message()));
      out = ordered_json({{"error", std::string(text.status().message())}})
                .dump(-1, ' ', false, ordered_json::error_handler_t::replace);
      status = 1;
    }
    out.push_back('\n');
    std::fwrite(out.data(), 1, out.size(), stdout);
  }
  return std::fflush(stdout) == 0 ? status : 1;
}

}  // namespace

FW_REGISTER_COMMAND("chat-template",
                    "render conversations (JSON lines) with a checkpoint's own chat template",
                    ChatTemplateCommand);

}  // namespace flywheel::cli
