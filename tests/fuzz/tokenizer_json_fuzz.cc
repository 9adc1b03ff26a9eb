// Fuzz target: tokenizer.json (and tokenizer_config.json) text, then the tokenizer it builds on
// text from the same input. Input: tokenizer.json, then optionally "\n\x01\n" and
// tokenizer_config.json, then optionally "\n\x02\n" and text to encode and decode.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view text;
  if (size_t p = in.find("\n\x02\n"); p != std::string_view::npos) {
    text = in.substr(p + 3);
    in = in.substr(0, p);
  }
  std::string_view config;
  if (size_t p = in.find("\n\x01\n"); p != std::string_view::npos) {
    config = in.substr(p + 3);
    in = in.substr(0, p);
  }
  auto tok = flywheel::tokenizer::Tokenizer::FromJson(in, config);
  if (!tok.ok()) return 0;
  auto ids = (*tok)->Encode(text);
  if (ids.ok()) (void)(*tok)->Decode(*ids);
  (void)(*tok)->EncodeOrdinary(text);
  return 0;
}
