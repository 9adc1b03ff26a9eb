#include "common/model/config.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace flywheel::model {
namespace {

using nlohmann::json;

absl::StatusOr<int64_t> GetInt(const json& j, const char* key, std::optional<int64_t> fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (fallback) return *fallback;
    return absl::InvalidArgumentError(absl::StrCat("config.json: missing \"", key, "\""));
  }
  if (!it->is_number_integer()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config.json: \"", key, "\" must be an integer"));
  }
  return it->get<int64_t>();
}

absl::StatusOr<double> GetDouble(const json& j, const char* key, double fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number()) {
    return absl::InvalidArgumentError(absl::StrCat("config.json: \"", key, "\" must be a number"));
  }
  return it->get<double>();
}

absl::StatusOr<std::string> GetString(const json& j, const char* key, const char* fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::string(fallback);
  if (!it->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat("config.json: \"", key, "\" must be a string"));
  }
  return it->get<std::string>();
}

absl::StatusOr<bool> GetBool(const json& j, const char* key, bool fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config.json: \"", key, "\" must be true or false"));
  }
  return it->get<bool>();
}

}  // namespace

absl::Status ValidateConfig(const ModelConfig& c) {
  auto positive = [](const char* name, int64_t v) -> absl::Status {
    if (v <= 0)
      return absl::InvalidArgumentError(absl::StrCat("config: ", name, " must be > 0, got ", v));
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(positive("vocab_size", c.vocab_size));
  RETURN_IF_ERROR(positive("hidden_size", c.hidden_size));
  RETURN_IF_ERROR(positive("num_hidden_layers", c.num_layers));
  RETURN_IF_ERROR(positive("num_attention_heads", c.num_heads));
  RETURN_IF_ERROR(positive("num_key_value_heads", c.num_kv_heads));
  RETURN_IF_ERROR(positive("head_dim", c.head_dim));
  RETURN_IF_ERROR(positive("intermediate_size", c.intermediate_size));
  RETURN_IF_ERROR(positive("max_position_embeddings", c.max_position_embeddings));
  if (c.num_heads % c.num_kv_heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat("config: num_attention_heads (", c.num_heads,
                                                   ") must be a multiple of num_key_value_heads (",
                                                   c.num_kv_heads, ")"));
  }
  if (c.head_dim % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("config: head_dim must be even for RoPE, got ", c.head_dim));
  }
  if (!(c.rope_theta > 0)) return absl::InvalidArgumentError("config: rope_theta must be > 0");
  if (!(c.rms_norm_eps > 0)) return absl::InvalidArgumentError("config: rms_norm_eps must be > 0");
  // Guards against configs whose parameter count overflows or cannot be allocated.
  constexpr int64_t kMaxDim = int64_t{1} << 24;
  for (int64_t v : {c.vocab_size, c.hidden_size, c.intermediate_size, c.q_dim(), c.kv_dim()}) {
    if (v > kMaxDim)
      return absl::InvalidArgumentError(absl::StrCat("config: dimension ", v, " is too large"));
  }
  if (c.num_layers > 4096)
    return absl::InvalidArgumentError("config: num_hidden_layers is too large");
  return absl::OkStatus();
}

absl::StatusOr<ModelConfig> ParseConfigJson(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("config.json: not a JSON object");
  }
  ModelConfig c;
  ASSIGN_OR_RETURN(c.model_type, GetString(j, "model_type", "llama"));
  if (c.model_type != "llama" && c.model_type != "mistral" && c.model_type != "qwen2" &&
      c.model_type != "qwen3") {
    return absl::InvalidArgumentError(absl::StrCat("config.json: unsupported model_type \"",
                                                   c.model_type,
                                                   "\" (supported: llama, mistral, qwen2, qwen3)"));
  }
  if (auto act = j.find("hidden_act"); act != j.end() && *act != "silu") {
    return absl::InvalidArgumentError(
        absl::StrCat("config.json: unsupported hidden_act ", act->dump(), " (only silu)"));
  }
  ASSIGN_OR_RETURN(c.vocab_size, GetInt(j, "vocab_size", std::nullopt));
  ASSIGN_OR_RETURN(c.hidden_size, GetInt(j, "hidden_size", std::nullopt));
  ASSIGN_OR_RETURN(c.num_layers, GetInt(j, "num_hidden_layers", std::nullopt));
  ASSIGN_OR_RETURN(c.num_heads, GetInt(j, "num_attention_heads", std::nullopt));
  ASSIGN_OR_RETURN(c.num_kv_heads, GetInt(j, "num_key_value_heads", c.num_heads));
  ASSIGN_OR_RETURN(c.intermediate_size, GetInt(j, "intermediate_size", std::nullopt));
  ASSIGN_OR_RETURN(c.max_position_embeddings, GetInt(j, "max_position_embeddings", 2048));
  if (c.num_heads <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("config: num_attention_heads must be > 0, got ", c.num_heads));
  }
  ASSIGN_OR_RETURN(c.head_dim, GetInt(j, "head_dim", c.hidden_size / c.num_heads));
  if (!j.contains("head_dim") && c.hidden_size % c.num_heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat("config: hidden_size (", c.hidden_size,
                                                   ") is not divisible by num_attention_heads (",
                                                   c.num_heads, ")"));
  }
  ASSIGN_OR_RETURN(c.rope_theta, GetDouble(j, "rope_theta", 10000.0));
  ASSIGN_OR_RETURN(c.rope_scaling,
                   ParseRopeScaling(j.value("rope_scaling", json()), c.max_position_embeddings));
  ASSIGN_OR_RETURN(c.rms_norm_eps, GetDouble(j, "rms_norm_eps", 1e-6));
  ASSIGN_OR_RETURN(c.tie_word_embeddings, GetBool(j, "tie_word_embeddings", false));
  // Qwen2 always has q/k/v biases and no flag for it; Llama-style configs say "attention_bias".
  ASSIGN_OR_RETURN(c.attention_bias, GetBool(j, "attention_bias", c.model_type == "qwen2"));
  c.qk_norm = c.model_type == "qwen3";
  RETURN_IF_ERROR(ValidateConfig(c));
  return c;
}

absl::StatusOr<ModelConfig> ReadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  auto config = ParseConfigJson(ss.str());
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat(path, ": ", config.status().message()));
  }
  return config;
}

absl::Status ValidateTokens(const ModelConfig& config, absl::Span<const int32_t> tokens,
                            int64_t pos0, const std::string& what) {
  if (tokens.empty()) return absl::InvalidArgumentError(absl::StrCat(what, ": empty sequence"));
  const int64_t end = pos0 + static_cast<int64_t>(tokens.size());
  if (end > config.max_position_embeddings) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": positions up to ", end,
                                                   " exceed the model's context of ",
                                                   config.max_position_embeddings));
  }
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= config.vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": token id ", tokens[i], " at index ",
                                                     i, " is outside the vocabulary [0, ",
                                                     config.vocab_size, ")"));
    }
  }
  return absl::OkStatus();
}

std::string ConfigToJson(const ModelConfig& c) {
  json j = {
      {"architectures",
       {c.model_type == "qwen3"   ? "Qwen3ForCausalLM"
        : c.model_type == "qwen2" ? "Qwen2ForCausalLM"
                                  : "LlamaForCausalLM"}},
      {"model_type", c.model_type},
      {"vocab_size", c.vocab_size},
      {"hidden_size", c.hidden_size},
      {"num_hidden_layers", c.num_layers},
      {"num_attention_heads", c.num_heads},
      {"num_key_value_heads", c.num_kv_heads},
      {"head_dim", c.head_dim},
      {"intermediate_size", c.intermediate_size},
      {"max_position_embeddings", c.max_position_embeddings},
      {"rope_theta", c.rope_theta},
      {"rms_norm_eps", c.rms_norm_eps},
      {"tie_word_embeddings", c.tie_word_embeddings},
      {"attention_bias", c.attention_bias},
      {"hidden_act", "silu"},
      {"torch_dtype", "float32"},
  };
  if (c.rope_scaling.type != RopeScalingType::kNone) {
    j["rope_scaling"] = RopeScalingToJson(c.rope_scaling);
  }
  return j.dump(2) + "\n";
}

}  // namespace flywheel::model
