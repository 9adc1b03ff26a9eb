// A hand-made byte-level BPE tokenizer.json for unit tests: the 256 byte tokens, a few merges
// that build "hello" and " world", and added tokens with each matching option.
#pragma once

#include <string>

#include "nlohmann/json.hpp"

namespace flywheel::tokenizer::testing {

// ids: bytes 0..255 (in GPT-2's alphabet order of the bytes), then "he"=256, "ll"=257,
// "llo"=258, "hello"=259, "Ġw"=260, "or"=261, "Ġwor"=262, "ld"=263, "Ġworld"=264;
// added: <|end|>=300 (special), <sep>=301 (lstrip+rstrip), [w]=302 (single_word).
// `pair_merges` writes merges in the ["a", "b"] form instead of "a b".
inline nlohmann::json SmallTokenizerJson(bool pair_merges = false) {
  nlohmann::json vocab = nlohmann::json::object();
  // Byte b's token is its byte-level code point; built here without the library under test.
  int next = 0;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    char32_t cp = printable ? b : 0x100 + next++;
    std::string s;
    if (cp < 0x80) {
      s.push_back(static_cast<char>(cp));
    } else {
      s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    vocab[s] = b;
  }
  const char* merged[][3] = {{"h", "e", "he"},       {"l", "l", "ll"}, {"ll", "o", "llo"},
                             {"he", "llo", "hello"}, {"Ġ", "w", "Ġw"}, {"o", "r", "or"},
                             {"Ġw", "or", "Ġwor"},   {"l", "d", "ld"}, {"Ġwor", "ld", "Ġworld"}};
  nlohmann::json merges = nlohmann::json::array();
  int id = 256;
  for (const auto& m : merged) {
    vocab[m[2]] = id++;
    if (pair_merges) {
      merges.push_back({m[0], m[1]});
    } else {
      merges.push_back(std::string(m[0]) + " " + m[1]);
    }
  }
  auto added = [](int id, const char* content, bool special, bool strip, bool single) {
    return nlohmann::json{{"id", id},           {"content", content}, {"special", special},
                          {"lstrip", strip},    {"rstrip", strip},    {"single_word", single},
                          {"normalized", false}};
  };
  return {
      {"version", "1.0"},
      {"added_tokens",
       {added(300, "<|end|>", true, false, false), added(301, "<sep>", false, true, false),
        added(302, "[w]", false, false, true)}},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"},
           {"pattern",
            {{"Regex",
              R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}}},
           {"behavior", "Isolated"},
           {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}}},
      {"post_processor", nullptr},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}},
  };
}

}  // namespace flywheel::tokenizer::testing
