// RoPE scaling formulas, following Hugging Face transformers' modeling_rope_utils (each step in
// float32 where PyTorch computes in float32, in double where it uses Python floats).
#include "common/model/rope_scaling.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace flywheel::model {
namespace {

using nlohmann::json;

constexpr double kPi = 3.14159265358979323846;

absl::StatusOr<double> Number(const json& j, const char* key, std::optional<double> fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (fallback) return *fallback;
    return absl::InvalidArgumentError(
        absl::StrCat("config.json: rope_scaling needs \"", key, "\""));
  }
  if (!it->is_number()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config.json: rope_scaling.", key, " must be a number"));
  }
  return it->get<double>();
}

// The yarn attention factor of a scale, as in the YaRN paper: 0.1 ln(s) + 1 (times mscale).
double YarnMscale(double scale, double mscale) {
  return scale <= 1 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

// The (fractional) dimension index at which a frequency makes `rotations` turns over `context`.
double CorrectionDim(double rotations, int64_t D, double theta, int64_t context) {
  return (static_cast<double>(D) * std::log(static_cast<double>(context) / (rotations * 2 * kPi))) /
         (2 * std::log(theta));
}

}  // namespace

absl::StatusOr<RopeScaling> ParseRopeScaling(const json& j, int64_t max_position_embeddings) {
  RopeScaling s;
  if (j.is_null()) return s;
  if (!j.is_object())
    return absl::InvalidArgumentError("config.json: rope_scaling must be an object");
  // Newer files say "rope_type", older ones "type".
  const json& type_json = j.contains("rope_type") ? j["rope_type"] : j.value("type", json());
  if (!type_json.is_string()) {
    return absl::InvalidArgumentError("config.json: rope_scaling needs a string \"rope_type\"");
  }
  const std::string type = type_json.get<std::string>();
  if (type == "default") return s;
  const int64_t original = j.value("original_max_position_embeddings", json()).is_number_integer()
                               ? j["original_max_position_embeddings"].get<int64_t>()
                               : 0;
  if (original < 0) {
    return absl::InvalidArgumentError(
        "config.json: rope_scaling.original_max_position_embeddings must be positive");
  }
  s.original_max_position_embeddings = original;
  if (type == "linear") {
    s.type = RopeScalingType::kLinear;
    ASSIGN_OR_RETURN(s.factor, Number(j, "factor", std::nullopt));
  } else if (type == "llama3") {
    s.type = RopeScalingType::kLlama3;
    ASSIGN_OR_RETURN(s.factor, Number(j, "factor", std::nullopt));
    ASSIGN_OR_RETURN(s.low_freq_factor, Number(j, "low_freq_factor", std::nullopt));
    ASSIGN_OR_RETURN(s.high_freq_factor, Number(j, "high_freq_factor", std::nullopt));
    if (original == 0) {
      return absl::InvalidArgumentError(
          "config.json: rope_scaling llama3 needs \"original_max_position_embeddings\"");
    }
    if (!(s.high_freq_factor > s.low_freq_factor && s.low_freq_factor > 0)) {
      return absl::InvalidArgumentError(
          "config.json: rope_scaling llama3 needs 0 < low_freq_factor < high_freq_factor");
    }
  } else if (type == "yarn") {
    s.type = RopeScalingType::kYarn;
    // Without a factor, the ratio of the stretched to the pre-trained context is the factor.
    std::optional<double> implied;
    if (original > 0) implied = static_cast<double>(max_position_embeddings) / original;
    ASSIGN_OR_RETURN(s.factor, Number(j, "factor", implied));
    ASSIGN_OR_RETURN(s.beta_fast, Number(j, "beta_fast", 32.0));
    ASSIGN_OR_RETURN(s.beta_slow, Number(j, "beta_slow", 1.0));
    ASSIGN_OR_RETURN(s.mscale, Number(j, "mscale", 0.0));
    ASSIGN_OR_RETURN(s.mscale_all_dim, Number(j, "mscale_all_dim", 0.0));
    if (j.contains("attention_factor") && !j["attention_factor"].is_null()) {
      ASSIGN_OR_RETURN(double a, Number(j, "attention_factor", std::nullopt));
      s.attention_factor = a;
    }
    if (auto t = j.find("truncate"); t != j.end() && !t->is_null()) {
      if (!t->is_boolean()) {
        return absl::InvalidArgumentError("config.json: rope_scaling.truncate must be a boolean");
      }
      s.truncate = t->get<bool>();
    }
  } else if (type == "dynamic") {
    return absl::InvalidArgumentError(
        "config.json: rope_scaling type \"dynamic\" is not supported: its frequencies change with "
        "the sequence length, so cached decoding could not match the learner's full forward");
  } else {
    return absl::InvalidArgumentError(absl::StrCat("config.json: rope_scaling type \"", type,
                                                   "\" is not supported (linear, llama3, yarn)"));
  }
  if (!(s.factor >= 1.0)) {
    return absl::InvalidArgumentError("config.json: rope_scaling.factor must be >= 1");
  }
  return s;
}

json RopeScalingToJson(const RopeScaling& s) {
  switch (s.type) {
    case RopeScalingType::kNone:
      return nullptr;
    case RopeScalingType::kLinear:
      return {{"rope_type", "linear"}, {"factor", s.factor}};
    case RopeScalingType::kLlama3:
      return {{"rope_type", "llama3"},
              {"factor", s.factor},
              {"low_freq_factor", s.low_freq_factor},
              {"high_freq_factor", s.high_freq_factor},
              {"original_max_position_embeddings", s.original_max_position_embeddings}};
    case RopeScalingType::kYarn: {
      json j = {{"rope_type", "yarn"},
                {"factor", s.factor},
                {"beta_fast", s.beta_fast},
                {"beta_slow", s.beta_slow},
                {"truncate", s.truncate}};
      if (s.original_max_position_embeddings > 0) {
        j["original_max_position_embeddings"] = s.original_max_position_embeddings;
      }
      if (s.attention_factor) j["attention_factor"] = *s.attention_factor;
      if (s.mscale != 0) j["mscale"] = s.mscale;
      if (s.mscale_all_dim != 0) j["mscale_all_dim"] = s.mscale_all_dim;
      return j;
    }
  }
  return nullptr;
}

std::vector<float> RopeInverseFrequencies(int64_t D, double theta, const RopeScaling& s,
                                          int64_t max_position_embeddings) {
  const int64_t half = D / 2;
  // theta^(2i/D) with the exponent rounded to float, as torch.arange(0, D, 2).float() / D.
  std::vector<float> base_pow(half), inv(half);
  for (int64_t i = 0; i < half; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(D);
    base_pow[i] = static_cast<float>(std::pow(theta, static_cast<double>(exponent)));
    inv[i] = 1.0f / base_pow[i];
  }
  const float factor = static_cast<float>(s.factor);
  switch (s.type) {
    case RopeScalingType::kNone:
      break;
    case RopeScalingType::kLinear:
      for (float& f : inv) f /= factor;
      break;
    case RopeScalingType::kLlama3: {
      const float context = static_cast<float>(s.original_max_position_embeddings);
      const float low = static_cast<float>(s.low_freq_factor);
      const float high = static_cast<float>(s.high_freq_factor);
      const float low_freq_wavelen = context / low, high_freq_wavelen = context / high;
      for (float& f : inv) {
        const float wavelen = static_cast<float>(2 * kPi) / f;
        if (wavelen > low_freq_wavelen) {
          f = f / factor;  // long wavelengths: interpolate fully
        } else if (!(wavelen < high_freq_wavelen)) {
          const float smooth = (context / wavelen - low) / (high - low);
          f = (1 - smooth) * f / factor + smooth * f;
        }  // short wavelengths keep their frequency
      }
      break;
    }
    case RopeScalingType::kYarn: {
      const int64_t context = s.original_max_position_embeddings > 0
                                  ? s.original_max_position_embeddings
                                  : max_position_embeddings;
      double low = CorrectionDim(s.beta_fast, D, theta, context);
      double high = CorrectionDim(s.beta_slow, D, theta, context);
      if (s.truncate) {
        low = std::floor(low);
        high = std::ceil(high);
      }
      low = std::max(low, 0.0);
      high = std::min(high, static_cast<double>(D - 1));
      if (low == high) high += 0.001;  // avoids dividing by zero, as Hugging Face does
      for (int64_t i = 0; i < half; ++i) {
        const float ramp = std::clamp(
            (static_cast<float>(i) - static_cast<float>(low)) / static_cast<float>(high - low),
            0.0f, 1.0f);
        const float extrapolation = 1 - ramp;  // 1: keep the frequency, 0: divide by factor
        const float interpolated = 1.0f / (factor * base_pow[i]);
        inv[i] = interpolated * (1 - extrapolation) + inv[i] * extrapolation;
      }
      break;
    }
  }
  return inv;
}

double RopeAttentionFactor(const RopeScaling& s) {
  if (s.type != RopeScalingType::kYarn) return 1.0;
  if (s.attention_factor) return *s.attention_factor;
  if (s.mscale != 0 && s.mscale_all_dim != 0) {
    return YarnMscale(s.factor, s.mscale) / YarnMscale(s.factor, s.mscale_all_dim);
  }
  return YarnMscale(s.factor, 1.0);
}

}  // namespace flywheel::model
