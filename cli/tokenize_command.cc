// flywheel tokenize --tokenizer PATH [--decode]
// Encodes UTF-8 lines from stdin to one JSON array of token ids per line, or with --decode
// reads JSON arrays of ids and prints their text. PATH is a tokenizer.json or a model directory.
#include <cstdio>
#include <iostream>
#include <string>

#include "cli/command.h"
#include "common/base/flags.h"
#include "common/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"

namespace flywheel::cli {
namespace {

constexpr char kUsage[] =
    "usage: flywheel tokenize --tokenizer PATH [--decode] < input\n"
    "  --tokenizer  tokenizer.json, or a model directory that holds one\n"
    "  --decode     read JSON arrays of ids (one per line) and print their text\n"
    "Without --decode, each stdin line (without its '\\n') is encoded, added tokens such as\n"
    "<|im_end|> included, and printed as a JSON array of ids.\n";

void Fail(const std::string& message) {
  std::fprintf(stderr, "flywheel tokenize: %s\n", message.c_str());
}

int Tokenize(const std::vector<std::string>& args) {
  int exit_code = 0;
  auto flags = Flags::ParseOrUsage("flywheel tokenize", args, {"tokenizer"}, {"decode"},
                                   {"tokenizer"}, kUsage, &exit_code);
  if (!flags) return exit_code;
  auto tok = tokenizer::Tokenizer::FromFile(*flags->Get("tokenizer"));
  if (!tok.ok()) {
    Fail(tok.status().ToString());
    return 1;
  }
  const bool decode = flags->Has("decode");
  std::ios::sync_with_stdio(false);
  std::string line, out;
  for (size_t n = 1; std::getline(std::cin, line); ++n) {
    if (decode) {
      auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      std::vector<int32_t> ids;
      bool ok = j.is_array();
      for (size_t i = 0; ok && i < j.size(); ++i) {
        ok = j[i].is_number_integer() && j[i].get<int64_t>() >= INT32_MIN &&
             j[i].get<int64_t>() <= INT32_MAX;
        if (ok) ids.push_back(static_cast<int32_t>(j[i].get<int64_t>()));
      }
      if (!ok) {
        Fail("line " + std::to_string(n) + ": expected a JSON array of integer ids");
        return 1;
      }
      auto text = (*tok)->Decode(ids);
      if (!text.ok()) {
        Fail("line " + std::to_string(n) + ": " + text.status().ToString());
        return 1;
      }
      out = *text;
    } else {
      auto ids = (*tok)->Encode(line);
      if (!ids.ok()) {
        Fail("line " + std::to_string(n) + ": " + ids.status().ToString());
        return 1;
      }
      out = nlohmann::json(*ids).dump();
    }
    out.push_back('\n');
    std::fwrite(out.data(), 1, out.size(), stdout);
  }
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace

FW_REGISTER_COMMAND("tokenize", "encode stdin lines to token ids (or --decode ids to text)",
                    Tokenize);

}  // namespace flywheel::cli
