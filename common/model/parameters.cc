#include "common/model/parameters.h"

#include "absl/strings/str_cat.h"

namespace flywheel::model {

int64_t ParameterLayout::Add(const std::string& name, std::vector<int64_t> shape) {
  ParamTensor t;
  t.name = name;
  t.numel = 1;
  for (int64_t d : shape) t.numel *= d;
  t.shape = std::move(shape);
  t.offset = num_params_;
  num_params_ += t.numel;
  tensors_.push_back(std::move(t));
  return tensors_.back().offset;
}

ParameterLayout::ParameterLayout(const ModelConfig& c) {
  const int64_t C = c.hidden_size, D = c.head_dim, I = c.intermediate_size;
  embed_ = Add("model.embed_tokens.weight", {c.vocab_size, C});
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string p = absl::StrCat("model.layers.", l, ".");
    LayerOffsets o;
    o.input_norm = Add(p + "input_layernorm.weight", {C});
    o.qkv_weight = Add(p + "self_attn.q_proj.weight", {c.q_dim(), C});
    Add(p + "self_attn.k_proj.weight", {c.kv_dim(), C});
    Add(p + "self_attn.v_proj.weight", {c.kv_dim(), C});
    o.qkv_bias = -1;
    if (c.attention_bias) {
      o.qkv_bias = Add(p + "self_attn.q_proj.bias", {c.q_dim()});
      Add(p + "self_attn.k_proj.bias", {c.kv_dim()});
      Add(p + "self_attn.v_proj.bias", {c.kv_dim()});
    }
    o.q_norm = o.k_norm = -1;
    if (c.qk_norm) {
      o.q_norm = Add(p + "self_attn.q_norm.weight", {D});
      o.k_norm = Add(p + "self_attn.k_norm.weight", {D});
    }
    o.o_weight = Add(p + "self_attn.o_proj.weight", {C, c.q_dim()});
    o.post_norm = Add(p + "post_attention_layernorm.weight", {C});
    o.gate_up = Add(p + "mlp.gate_proj.weight", {I, C});
    Add(p + "mlp.up_proj.weight", {I, C});
    o.down = Add(p + "mlp.down_proj.weight", {C, I});
    layers_.push_back(o);
  }
  final_norm_ = Add("model.norm.weight", {C});
  lm_head_ = c.tie_word_embeddings ? embed_ : Add("lm_head.weight", {c.vocab_size, C});
}

int64_t ParameterLayout::Find(const std::string& name) const {
  for (size_t i = 0; i < tensors_.size(); ++i) {
    if (tensors_[i].name == name) return static_cast<int64_t>(i);
  }
  return -1;
}

}  // namespace flywheel::model
