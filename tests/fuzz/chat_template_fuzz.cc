// Fuzz target: chat templates, the Jinja source a checkpoint brings in its tokenizer_config.json
// (or chat_template.jinja), parsed by flywheel's Jinja engine and rendered. Input: the template
// source, then "\n\x01\n", then one "role\tcontent" message per line. The same text is also tried
// as a whole tokenizer_config.json, and the messages are rendered in the named formats, where a
// role that could forge turn structure must be refused, never rendered.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/tokenizer/chat_template.h"

using flywheel::tokenizer::ChatFormat;
using flywheel::tokenizer::ChatMessage;
using flywheel::tokenizer::ChatTemplate;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view source = in, rest;
  if (size_t p = in.find("\n\x01\n"); p != std::string_view::npos) {
    source = in.substr(0, p);
    rest = in.substr(p + 3);
  }
  std::vector<ChatMessage> messages;
  for (absl::string_view line : absl::StrSplit(absl::string_view(rest.data(), rest.size()), '\n')) {
    std::pair<std::string, std::string> rc = absl::StrSplit(line, absl::MaxSplits('\t', 1));
    messages.push_back({rc.first, rc.second});
  }
  if (auto t = ChatTemplate::FromJinja(source); t.ok()) (void)(*t)->Render(messages);
  if (auto t = ChatTemplate::FromTokenizerConfig(in); t.ok()) (void)(*t)->Render(messages);
  (void)flywheel::tokenizer::DetectChatFormat(source);
  for (ChatFormat f : {ChatFormat::kChatML, ChatFormat::kLlama3}) {
    if (!flywheel::tokenizer::RenderChat(f, messages).ok()) continue;
    for (const ChatMessage& m : messages) {
      if (m.role.empty() || absl::StrContains(m.role, "<|") || absl::StrContains(m.role, "\n")) {
        __builtin_trap();  // rendered a role the contract says is refused
      }
    }
  }
  return 0;
}
