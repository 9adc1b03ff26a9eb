#include "common/model/checkpoint.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/base/logging.h"
#include "common/base/status_macros.h"
#include "common/model/parameters.h"
#include "common/model/safetensors.h"
#include "nlohmann/json.hpp"

namespace flywheel::model {
namespace {

namespace fs = std::filesystem;

// Tensor names a checkpoint may carry that flywheel does not need.
bool IsIgnorable(const std::string& name, const ModelConfig& config) {
  return absl::EndsWith(name, "rotary_emb.inv_freq") ||
         (config.tie_word_embeddings && name == "lm_head.weight");
}

// Maps each tensor name to the shard file that holds it.
absl::StatusOr<std::map<std::string, std::string>> ShardMap(const std::string& dir) {
  std::map<std::string, std::string> out;
  const fs::path single = fs::path(dir) / "model.safetensors";
  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  if (fs::exists(single)) return out;  // Empty map: everything is in model.safetensors.
  if (!fs::exists(index)) {
    return absl::NotFoundError(
        absl::StrCat(dir, ": no model.safetensors or model.safetensors.index.json"));
  }
  std::ifstream in(index);
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.contains("weight_map") || !j["weight_map"].is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(index.string(), ": no weight_map object"));
  }
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    if (!it.value().is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(index.string(), ": weight_map values must be file names"));
    }
    std::string file = it.value().get<std::string>();
    if (file.find('/') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(index.string(), ": shard name '", file, "' must be a plain file name"));
    }
    out[it.key()] = file;
  }
  return out;
}

}  // namespace

absl::StatusOr<ModelWeights> LoadModelDir(const std::string& dir) {
  ModelWeights w;
  ASSIGN_OR_RETURN(w.config, ReadConfigFile((fs::path(dir) / "config.json").string()));
  ParameterLayout layout(w.config);
  w.params.assign(layout.num_params(), 0.0f);
  ASSIGN_OR_RETURN(auto shards, ShardMap(dir));

  std::map<std::string, std::unique_ptr<SafetensorsFile>> open;
  auto file_for = [&](const std::string& name) -> absl::StatusOr<SafetensorsFile*> {
    std::string file = "model.safetensors";
    if (!shards.empty()) {
      auto it = shards.find(name);
      if (it == shards.end()) {
        return absl::NotFoundError(
            absl::StrCat(dir, ": missing tensor \"", name, "\" (not in the shard index)"));
      }
      file = it->second;
    }
    auto& slot = open[file];
    if (!slot) {
      ASSIGN_OR_RETURN(slot, SafetensorsFile::Open((fs::path(dir) / file).string()));
    }
    return slot.get();
  };

  for (const ParamTensor& t : layout.tensors()) {
    ASSIGN_OR_RETURN(SafetensorsFile * f, file_for(t.name));
    RETURN_IF_ERROR(f->ReadFloat(t.name, t.shape, w.params.data() + t.offset));
  }
  for (const auto& [file, f] : open) {
    for (const auto& [name, entry] : f->tensors()) {
      if (layout.Find(name) < 0 && !IsIgnorable(name, w.config)) {
        FW_LOG(WARNING) << f->path() << ": ignoring unexpected tensor " << name;
      }
    }
  }
  for (size_t i = 0; i < w.params.size(); ++i) {
    if (!std::isfinite(w.params[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat(dir, ": weights contain a non-finite value at flat index ", i));
    }
  }
  return w;
}

absl::Status SaveModelDir(const std::string& dir, const ModelConfig& config, const float* params) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  ParameterLayout layout(config);
  std::vector<NamedTensor> tensors;
  for (const ParamTensor& t : layout.tensors())
    tensors.push_back({t.name, t.shape, params + t.offset});
  RETURN_IF_ERROR(WriteSafetensors((fs::path(dir) / "model.safetensors").string(), tensors,
                                   {{"format", "pt"}}));
  const std::string config_path = (fs::path(dir) / "config.json").string();
  const std::string tmp = config_path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << ConfigToJson(config);
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  fs::rename(tmp, config_path, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot rename ", tmp, ": ", ec.message()));
  return absl::OkStatus();
}

ModelWeights RandomModel(const ModelConfig& config, uint64_t seed, float init_std) {
  ModelWeights w{config, {}};
  ParameterLayout layout(config);
  w.params.assign(layout.num_params(), 0.0f);
  std::mt19937_64 rng(seed);
  // Box-Muller on the engine's raw bits: std::normal_distribution differs between standard
  // libraries, and a model created from a seed should be the same everywhere.
  auto uniform = [&] { return (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53; };
  auto normal = [&] {
    return std::sqrt(-2.0 * std::log(uniform())) * std::cos(2.0 * M_PI * uniform());
  };
  for (const ParamTensor& t : layout.tensors()) {
    float* p = w.params.data() + t.offset;
    if (absl::EndsWith(t.name, "norm.weight") || absl::EndsWith(t.name, "layernorm.weight")) {
      std::fill(p, p + t.numel, 1.0f);
    } else if (absl::EndsWith(t.name, ".bias")) {
      std::fill(p, p + t.numel, 0.0f);
    } else {
      for (int64_t i = 0; i < t.numel; ++i) p[i] = static_cast<float>(normal() * init_std);
    }
  }
  return w;
}

absl::StatusOr<ModelConfig> PresetConfig(const std::string& name) {
  ModelConfig c;
  c.model_type = "qwen2";
  c.attention_bias = true;
  c.rope_theta = 10000.0;
  c.rms_norm_eps = 1e-6;
  if (name == "tiny") {
    // ~1.0M parameters; vocab 320 covers the 259 ids of flywheel's byte-level tokenizer.
    c.vocab_size = 320;
    c.hidden_size = 128;
    c.num_layers = 4;
    c.num_heads = 4;
    c.num_kv_heads = 2;
    c.head_dim = 32;
    c.intermediate_size = 512;
    c.max_position_embeddings = 512;
    c.tie_word_embeddings = true;
  } else if (name == "small") {
    // The 4M-parameter benchmark model.
    c.vocab_size = 2048;
    c.hidden_size = 256;
    c.num_layers = 4;
    c.num_heads = 8;
    c.num_kv_heads = 4;
    c.head_dim = 32;
    c.intermediate_size = 704;
    c.max_position_embeddings = 1024;
    c.tie_word_embeddings = false;
  } else if (name == "qwen3-0.6b") {
    // Qwen3-0.6B's architecture (its config.json): 0.6B parameters, the real 151,936-token
    // vocabulary, grouped-query attention with per-head q/k norms, tied embeddings.
    c.model_type = "qwen3";
    c.attention_bias = false;
    c.qk_norm = true;
    c.rope_theta = 1000000.0;
    c.vocab_size = 151936;
    c.hidden_size = 1024;
    c.num_layers = 28;
    c.num_heads = 16;
    c.num_kv_heads = 8;
    c.head_dim = 128;
    c.intermediate_size = 3072;
    c.max_position_embeddings = 40960;
    c.tie_word_embeddings = true;
  } else {
    return absl::NotFoundError(
        absl::StrCat("unknown preset '", name, "' (tiny, small, qwen3-0.6b)"));
  }
  return c;
}

}  // namespace flywheel::model
