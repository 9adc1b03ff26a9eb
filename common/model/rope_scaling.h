// RoPE scaling: how a checkpoint stretches its rotary frequencies past the context it was
// pre-trained on (config.json's "rope_scaling"). Each type rewrites the inverse frequencies
// theta^(-2i/D) once, and yarn also scales cos and sin by an attention factor; the resulting
// table is fixed per model, so a position's rotation never depends on the batch or on how much
// of the sequence is cached, and decode stays bitwise equal to the full forward.
//   linear  inv_freq / factor
//   llama3  Llama 3.1: long wavelengths / factor, short ones kept, a smooth blend between
//   yarn    per-frequency blend of interpolation and extrapolation, cos/sin * attention factor
// "dynamic" (NTK) is refused: Hugging Face recomputes its frequencies from the current sequence
// length, so a token's logprob would depend on how long its sequence had grown, which breaks
// the rollout-equals-learner promise. "longrope" is refused too (not a Llama-family scaling).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"

namespace flywheel::model {

enum class RopeScalingType { kNone, kLinear, kLlama3, kYarn };

struct RopeScaling {
  RopeScalingType type = RopeScalingType::kNone;
  double factor = 1.0;
  int64_t original_max_position_embeddings = 0;  // llama3, yarn (0: max_position_embeddings)
  double low_freq_factor = 1.0;                  // llama3
  double high_freq_factor = 4.0;                 // llama3
  double beta_fast = 32.0;                       // yarn: rotations where extrapolation ends
  double beta_slow = 1.0;                        // yarn: rotations where interpolation starts
  std::optional<double> attention_factor;        // yarn: from factor (and mscale) when unset
  double mscale = 0.0, mscale_all_dim = 0.0;     // yarn (DeepSeek style attention factor)
  bool truncate = true;                          // yarn: round the ramp bounds to integers
};

// Parses config.json's "rope_scaling" (null or absent: none). `max_position_embeddings` fills
// yarn's factor when only original_max_position_embeddings is given. InvalidArgument for
// missing or malformed fields and for unsupported types, naming them.
absl::StatusOr<RopeScaling> ParseRopeScaling(const nlohmann::json& j,
                                             int64_t max_position_embeddings);

// The "rope_scaling" object in Hugging Face form (null for none).
nlohmann::json RopeScalingToJson(const RopeScaling& s);

// Inverse frequencies (D/2 of them) for head dimension D and base theta, each formed in float
// as Hugging Face's PyTorch code forms it, with the scaling applied.
std::vector<float> RopeInverseFrequencies(int64_t D, double theta, const RopeScaling& s,
                                          int64_t max_position_embeddings);

// The factor cos and sin are multiplied by (1 except for yarn).
double RopeAttentionFactor(const RopeScaling& s);

}  // namespace flywheel::model
