// Where every parameter of a model lives in one flat float buffer, under its Hugging Face name.
//
// One flat buffer (as in llm.c) lets gradients, AdamW moments and weight pushes share the layout
// and treat the model as a single array. Tensors that feed one GEMM sit next to each other, so
// the fused operand needs no copy: q_proj, k_proj, v_proj weights (and biases) form one (QKV, C)
// matrix, gate_proj and up_proj one (2I, C) matrix.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/model/config.h"

namespace flywheel::model {

struct ParamTensor {
  std::string name;            // Hugging Face name, e.g. "model.layers.0.self_attn.q_proj.weight"
  std::vector<int64_t> shape;  // Hugging Face shape, e.g. (out, in) for a linear weight
  int64_t offset = 0;          // In floats, into the flat buffer
  int64_t numel = 0;
};

// Offsets (in floats) of one decoder layer's tensors; -1 where the config has no such tensor.
struct LayerOffsets {
  int64_t input_norm;  // (C)
  int64_t qkv_weight;  // (QKV, C): q_proj (H*D, C) | k_proj (KVH*D, C) | v_proj (KVH*D, C)
  int64_t qkv_bias;    // (QKV) or -1
  int64_t q_norm;      // (D) or -1 (Qwen3)
  int64_t k_norm;      // (D) or -1
  int64_t o_weight;    // (C, H*D)
  int64_t post_norm;   // (C)
  int64_t gate_up;     // (2I, C): gate_proj (I, C) | up_proj (I, C)
  int64_t down;        // (C, I)
};

class ParameterLayout {
 public:
  explicit ParameterLayout(const ModelConfig& config);

  int64_t num_params() const { return num_params_; }
  const std::vector<ParamTensor>& tensors() const { return tensors_; }
  const LayerOffsets& layer(int64_t l) const { return layers_[l]; }
  int64_t embed() const { return embed_; }            // (V, C)
  int64_t final_norm() const { return final_norm_; }  // (C)
  int64_t lm_head() const { return lm_head_; }        // (V, C); == embed() when tied
  // Index into tensors() by name, or -1.
  int64_t Find(const std::string& name) const;

 private:
  int64_t Add(const std::string& name, std::vector<int64_t> shape);

  std::vector<ParamTensor> tensors_;
  std::vector<LayerOffsets> layers_;
  int64_t embed_ = 0, final_norm_ = 0, lm_head_ = 0;
  int64_t num_params_ = 0;
};

}  // namespace flywheel::model
