// Model directories in Hugging Face form: config.json plus model.safetensors (or shards listed in
// model.safetensors.index.json). A real Qwen2.5 / Qwen3 / Llama checkpoint directory loads as is.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/model/config.h"

namespace flywheel::model {

// A model's configuration and its parameters in ParameterLayout(config) order.
struct ModelWeights {
  ModelConfig config;
  std::vector<float> params;
};

// Loads dir/config.json and the weights. Every expected tensor must be present with its exact
// shape and a readable dtype; the error names the file and tensor. Tensors flywheel does not use
// (e.g. rotary inv_freq buffers, lm_head.weight of a tied model) are ignored.
absl::StatusOr<ModelWeights> LoadModelDir(const std::string& dir);

// Writes dir/config.json and dir/model.safetensors (F32, Hugging Face names), each atomically.
// Creates dir if needed. params must follow ParameterLayout(config).
absl::Status SaveModelDir(const std::string& dir, const ModelConfig& config, const float* params);

// Hugging Face style initialisation: linear and embedding weights ~ N(0, init_std), norm weights
// 1, biases 0. Deterministic in seed.
ModelWeights RandomModel(const ModelConfig& config, uint64_t seed, float init_std = 0.02f);

// Named model shapes for `flywheel init-model --preset`: "tiny" (~1M parameters, vocab 320 for the
// byte-level tokenizer) and "small" (the 4M benchmark model). NotFound for other names.
absl::StatusOr<ModelConfig> PresetConfig(const std::string& name);

}  // namespace flywheel::model
