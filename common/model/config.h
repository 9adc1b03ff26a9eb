// Model configuration: the decoder-only transformer family flywheel runs (Llama, Qwen2, Qwen3),
// read from and written to a Hugging Face config.json.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/model/rope_scaling.h"

namespace flywheel::model {

struct ModelConfig {
  std::string model_type = "qwen2";  // "llama", "mistral", "qwen2" or "qwen3"
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;        // C
  int64_t num_layers = 0;         // L
  int64_t num_heads = 0;          // H
  int64_t num_kv_heads = 0;       // KVH; H % KVH == 0 (grouped-query attention)
  int64_t head_dim = 0;           // D; hidden_size / H unless config.json says otherwise
  int64_t intermediate_size = 0;  // I (SwiGLU width)
  int64_t max_position_embeddings = 0;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;  // config.json's "rope_scaling" (none by default)
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = false;  // lm_head shares model.embed_tokens.weight
  bool attention_bias = false;       // biases on q/k/v projections (Qwen2)
  bool qk_norm = false;              // RMSNorm on each query and key head before RoPE (Qwen3)

  int64_t q_dim() const { return num_heads * head_dim; }
  int64_t kv_dim() const { return num_kv_heads * head_dim; }
  int64_t qkv_dim() const { return q_dim() + 2 * kv_dim(); }
};

// Checks that every size is positive and the head layout is consistent; the error names the field.
absl::Status ValidateConfig(const ModelConfig& config);

// Parses config.json text. Unknown model types, activations other than SiLU and RoPE scaling
// types other than linear, llama3 and yarn are rejected with a clear error rather than silently
// computing something else.
absl::StatusOr<ModelConfig> ParseConfigJson(const std::string& text);
absl::StatusOr<ModelConfig> ReadConfigFile(const std::string& path);

// InvalidArgument, prefixed with `what`, unless tokens is non-empty, every id is in
// [0, vocab_size) and positions pos0 .. pos0 + size - 1 fit the context. Needs only the config,
// so any thread may check a request while the model is being replaced.
absl::Status ValidateTokens(const ModelConfig& config, absl::Span<const int32_t> tokens,
                            int64_t pos0, const std::string& what);

// Serialises to config.json text in Hugging Face form (loadable by transformers too).
std::string ConfigToJson(const ModelConfig& config);

}  // namespace flywheel::model
