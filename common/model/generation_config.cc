#include "common/model/generation_config.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace flywheel::model {
namespace {

using nlohmann::json;

absl::Status Bad(const char* key, const char* what) {
  return absl::InvalidArgumentError(
      absl::StrCat("generation_config.json: \"", key, "\" must be ", what));
}

// A number in [lo, hi] (open at the ends marked), or absent / null.
absl::StatusOr<std::optional<float>> Number(const json& j, const char* key, double lo, double hi,
                                            bool lo_open, bool hi_open, const char* range) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::optional<float>();
  if (!it->is_number()) return Bad(key, "a number");
  const double v = it->get<double>();
  if (v < lo || v > hi || (lo_open && v == lo) || (hi_open && v == hi)) return Bad(key, range);
  return std::optional<float>(static_cast<float>(v));
}

absl::StatusOr<std::optional<int32_t>> Count(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::optional<int32_t>();
  if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > INT32_MAX) {
    return Bad(key, "a non-negative integer");
  }
  return std::optional<int32_t>(static_cast<int32_t>(it->get<int64_t>()));
}

}  // namespace

absl::StatusOr<GenerationConfig> ParseGenerationConfig(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("generation_config.json: not a JSON object");
  }
  GenerationConfig g;
  if (auto eos = j.find("eos_token_id"); eos != j.end() && !eos->is_null()) {
    const json list = eos->is_array() ? *eos : json::array({*eos});
    for (const json& id : list) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
        return Bad("eos_token_id", "a token id or a list of token ids");
      }
      g.eos_token_ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
    }
  }
  if (auto s = j.find("do_sample"); s != j.end() && !s->is_null()) {
    if (!s->is_boolean()) return Bad("do_sample", "true or false");
    g.do_sample = s->get<bool>();
  }
  ASSIGN_OR_RETURN(g.temperature, Number(j, "temperature", 0, 1e9, false, false, ">= 0"));
  ASSIGN_OR_RETURN(g.top_p, Number(j, "top_p", 0, 1, true, false, "in (0, 1]"));
  ASSIGN_OR_RETURN(g.min_p, Number(j, "min_p", 0, 1, false, true, "in [0, 1)"));
  ASSIGN_OR_RETURN(g.top_k, Count(j, "top_k"));
  ASSIGN_OR_RETURN(g.max_new_tokens, Count(j, "max_new_tokens"));
  return g;
}

absl::StatusOr<std::optional<GenerationConfig>> ReadGenerationConfig(const std::string& model_dir) {
  const std::filesystem::path path = std::filesystem::path(model_dir) / "generation_config.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<GenerationConfig>();
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  auto g = ParseGenerationConfig(ss.str());
  if (!g.ok()) {
    return absl::Status(g.status().code(), absl::StrCat(model_dir, ": ", g.status().message()));
  }
  return std::optional<GenerationConfig>(*std::move(g));
}

}  // namespace flywheel::model
