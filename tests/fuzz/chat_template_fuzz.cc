// Fuzz target: chat templates. The first line is a Jinja chat_template from a
// tokenizer_config.json (format detection); the rest are "role\tcontent" messages rendered in
// both formats. A role that could forge turn structure must be refused, never rendered.
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

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<absl::string_view> lines = absl::StrSplit(in, '\n');
  const std::string_view first(lines[0].data(), lines[0].size());
  (void)flywheel::tokenizer::DetectChatFormat(first);
  (void)flywheel::tokenizer::ChatFormatFromName(first);
  std::vector<ChatMessage> messages;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::pair<std::string, std::string> rc = absl::StrSplit(lines[i], absl::MaxSplits('\t', 1));
    messages.push_back({rc.first, rc.second});
  }
  for (ChatFormat f : {ChatFormat::kChatML, ChatFormat::kLlama3}) {
    for (bool thinking : {true, false}) {
      auto text = flywheel::tokenizer::RenderChat(f, messages, {.enable_thinking = thinking});
      if (!text.ok()) continue;
      for (const ChatMessage& m : messages) {
        if (m.role.empty() || absl::StrContains(m.role, "<|") || absl::StrContains(m.role, "\n")) {
          __builtin_trap();  // rendered a role the contract says is refused
        }
      }
    }
  }
  return 0;
}
