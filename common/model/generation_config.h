// A checkpoint's generation_config.json: the end-of-sequence ids generation stops at (Llama 3.1
// lists three) and the sampling parameters its authors recommend. Only the fields flywheel's
// sampler can honour are read; others (repetition_penalty, max_length, ...) are ignored, and
// max_length in particular is not used: Hugging Face's default of 20 tokens counts the prompt.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace flywheel::model {

struct GenerationConfig {
  std::vector<int32_t> eos_token_ids;  // "eos_token_id": an id or a list of ids
  // Hugging Face samples only when do_sample is true; absent means false (greedy).
  bool do_sample = false;
  std::optional<float> temperature, top_p, min_p;
  std::optional<int32_t> top_k;
  std::optional<int32_t> max_new_tokens;
};

// Parses generation_config.json text. InvalidArgument naming the field for malformed JSON or
// values the sampler would reject (temperature < 0, top_p outside (0, 1], ...).
absl::StatusOr<GenerationConfig> ParseGenerationConfig(const std::string& text);

// Reads MODEL_DIR/generation_config.json: nullopt when there is none (tiny models have none);
// the parse errors above, prefixed with the path, when it is malformed.
absl::StatusOr<std::optional<GenerationConfig>> ReadGenerationConfig(const std::string& model_dir);

}  // namespace flywheel::model
