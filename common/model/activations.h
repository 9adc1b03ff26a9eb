// Buffers of one forward pass over a flat batch of token rows: what the backward pass needs, plus
// scratch. Buffers only grow, so a training loop that reuses one Activations allocates once.
#pragma once

#include <cstdint>
#include <vector>

namespace flywheel::model {

// One decoder layer's saved tensors; N rows. Shapes in comments use C hidden, H heads, KVH kv
// heads, D head dim, QKV = (H + 2 KVH) D, I intermediate.
struct LayerActivations {
  std::vector<float> ln1;       // (N, C) input RMSNorm output
  std::vector<float> rstd1;     // (N)
  std::vector<float> qkv;       // (N, QKV) fused projection output (with bias)
  std::vector<float> q_raw;     // (N, H, D) q before QK-norm (Qwen3 only)
  std::vector<float> k_raw;     // (N, KVH, D)
  std::vector<float> qn_rstd;   // (N * H) QK-norm rstd (Qwen3 only)
  std::vector<float> kn_rstd;   // (N * KVH)
  std::vector<float> q;         // (N, H, D) after QK-norm and RoPE
  std::vector<float> k;         // (N, KVH, D) after QK-norm and RoPE
  std::vector<float> v;         // (N, KVH, D)
  std::vector<float> att;       // Σ_s T_s * H * T_s attention probabilities (training only)
  std::vector<float> attn_out;  // (N, H * D)
  std::vector<float> ln2;       // (N, C)
  std::vector<float> rstd2;     // (N)
  std::vector<float> gate_up;   // (N, 2I)
  std::vector<float> mlp_act;   // (N, I) SwiGLU output
};

// Gradient scratch of one backward pass, grow-only like Activations.
struct BackwardScratch {
  std::vector<float> dlogprobs, dentropy;  // (N)
  std::vector<float> dlogits;              // (chunk, V)
  std::vector<float> dlnf, dx, dln;        // (N, C)
  std::vector<float> dact;                 // (N, I)
  std::vector<float> dgate_up;             // (N, 2I)
  std::vector<float> dattn, dq, dq_pre;    // (N, H * D)
  std::vector<float> dk, dk_pre, dv;       // (N, KVH * D)
  std::vector<float> dq_raw, dk_raw;       // Qwen3 QK-norm inputs
  std::vector<float> dqkv;                 // (N, QKV)
};

struct Activations {
  // Flat batch description.
  std::vector<int32_t> tokens;     // (N)
  std::vector<int32_t> targets;    // (N) next token of each row (0 on a sequence's last row)
  std::vector<int32_t> positions;  // (N)
  std::vector<int64_t> seq_start;  // (S + 1) first row of each sequence
  std::vector<int64_t> att_start;  // (S) offset of each sequence's probabilities in att

  bool saved = false;            // Whether per-layer tensors were kept (training forward).
  std::vector<float> resid;      // ((L + 1) * N, C) layer inputs; the last is the final stream
  std::vector<float> resid_mid;  // (L * N, C) after attention, before the MLP
  std::vector<LayerActivations> layers;
  std::vector<float> lnf;       // (N, C) final RMSNorm output
  std::vector<float> rstdf;     // (N)
  std::vector<float> logits;    // (N, V) when kept; else recomputed in chunks by backward
  std::vector<float> lse;       // (N)
  std::vector<float> entropy;   // (N)
  std::vector<float> logprobs;  // (N)
  bool logits_kept = false;
  bool has_entropy = false;
  BackwardScratch grad;  // Used by Transformer::Backward.
};

}  // namespace flywheel::model
