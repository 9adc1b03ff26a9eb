// Transformer::Backward: the reverse of ForwardRows + the LM head, on the saved activations.
// Every kernel accumulates parameter gradients with +=, so gradient accumulation over
// micro-batches is a matter of not zeroing grads in between.
#include <algorithm>
#include <cstring>

#include "common/base/logging.h"
#include "common/kernels/cpu/attention.h"
#include "common/kernels/cpu/embedding.h"
#include "common/kernels/cpu/logprobs.h"
#include "common/kernels/cpu/matmul.h"
#include "common/kernels/cpu/rmsnorm.h"
#include "common/kernels/cpu/rope.h"
#include "common/kernels/cpu/swiglu.h"
#include "common/model/model_internal.h"
#include "common/model/transformer.h"

namespace flywheel::model {
namespace {

// Resizes (grow-only) and zeroes the first n floats: the kernels' input gradients accumulate.
float* Zeroed(std::vector<float>* v, int64_t n) {
  internal::Grow(v, n);
  std::fill(v->begin(), v->begin() + n, 0.0f);
  return v->data();
}

}  // namespace

using namespace kernels;  // NOLINT: the kernels are this file's vocabulary.

void Transformer::Backward(Activations* a, const std::vector<std::vector<float>>& dlogprobs,
                           const std::vector<std::vector<float>>* dentropy, float* grads,
                           ThreadPool* pool) const {
  FW_CHECK(a->saved) << "Backward needs the activations of a training Forward";
  FW_CHECK(dentropy == nullptr || a->has_entropy) << "dentropy needs Forward with entropy";
  const ModelConfig& c = config_;
  const int64_t N = static_cast<int64_t>(a->tokens.size());
  const int64_t C = c.hidden_size, H = c.num_heads, KVH = c.num_kv_heads, D = c.head_dim;
  const int64_t HD = c.q_dim(), KVD = c.kv_dim(), QKV = c.qkv_dim(), I = c.intermediate_size;
  const int64_t L = c.num_layers, V = c.vocab_size;
  const int64_t S = static_cast<int64_t>(a->seq_start.size()) - 1;
  FW_CHECK(static_cast<int64_t>(dlogprobs.size()) == S) << "dlogprobs needs one entry per sequence";
  const float* P = params_.data();
  BackwardScratch& g = a->grad;

  // Scatter the per-sequence gradients onto rows; a sequence's last row predicts nothing.
  float* dlp = Zeroed(&g.dlogprobs, N);
  float* dent = dentropy != nullptr ? Zeroed(&g.dentropy, N) : nullptr;
  for (int64_t s = 0; s < S; ++s) {
    const int64_t r0 = a->seq_start[s], T = a->seq_start[s + 1] - r0;
    FW_CHECK(static_cast<int64_t>(dlogprobs[s].size()) == T - 1) << "dlogprobs[" << s << "] size";
    std::copy(dlogprobs[s].begin(), dlogprobs[s].end(), dlp + r0);
    if (dent != nullptr) {
      FW_CHECK(static_cast<int64_t>((*dentropy)[s].size()) == T - 1)
          << "dentropy[" << s << "] size";
      std::copy((*dentropy)[s].begin(), (*dentropy)[s].end(), dent + r0);
    }
  }

  // LM head, chunk by chunk (recomputing logits when the forward did not keep them).
  float* dlnf = Zeroed(&g.dlnf, N * C);
  const int64_t chunk = internal::LogitChunkRows(V);
  std::vector<float> recomputed;
  for (int64_t r0 = 0; r0 < N; r0 += chunk) {
    const int64_t rows = std::min(chunk, N - r0);
    const float* logits = a->logits.data() + r0 * V;
    if (!a->logits_kept) {
      internal::Grow(&recomputed, rows * V);
      LmHead(recomputed.data(), *a, r0, rows, pool);
      logits = recomputed.data();
    }
    internal::Grow(&g.dlogits, rows * V);
    logprobs_backward(g.dlogits.data(), dlp + r0, dent ? dent + r0 : nullptr, logits,
                      a->lse.data() + r0, dent ? a->entropy.data() + r0 : nullptr,
                      a->targets.data() + r0, rows, V, pool);
    matmul_backward(dlnf + r0 * C, grads + layout_.lm_head(), nullptr, g.dlogits.data(),
                    a->lnf.data() + r0 * C, P + layout_.lm_head(), rows, C, V, pool);
  }
  float* dx = Zeroed(&g.dx, N * C);
  rmsnorm_backward(dx, grads + layout_.final_norm(), dlnf, a->resid.data() + L * N * C,
                   P + layout_.final_norm(), a->rstdf.data(), N, C, pool);

  for (int64_t l = L - 1; l >= 0; --l) {
    const LayerActivations& la = a->layers[l];
    const LayerOffsets& o = layout_.layer(l);
    const float* x_in = a->resid.data() + l * N * C;
    const float* xm = a->resid_mid.data() + l * N * C;

    // MLP: x_next = xm + down(swiglu(gate_up(rmsnorm(xm)))). dx flows straight through the sum.
    float* dact = Zeroed(&g.dact, N * I);
    matmul_backward(dact, grads + o.down, nullptr, dx, la.mlp_act.data(), P + o.down, N, I, C,
                    pool);
    float* dgu = Zeroed(&g.dgate_up, N * 2 * I);
    swiglu_backward(dgu, dact, la.gate_up.data(), N, I, pool);
    float* dln = Zeroed(&g.dln, N * C);
    matmul_backward(dln, grads + o.gate_up, nullptr, dgu, la.ln2.data(), P + o.gate_up, N, C, 2 * I,
                    pool);
    rmsnorm_backward(dx, grads + o.post_norm, dln, xm, P + o.post_norm, la.rstd2.data(), N, C,
                     pool);

    // Attention: xm = x_in + o_proj(attention(rope(qk_norm(split(qkv(rmsnorm(x_in))))))).
    float* dattn = Zeroed(&g.dattn, N * HD);
    matmul_backward(dattn, grads + o.o_weight, nullptr, dx, la.attn_out.data(), P + o.o_weight, N,
                    HD, C, pool);
    float* dq = Zeroed(&g.dq, N * HD);
    float* dk = Zeroed(&g.dk, N * KVD);
    float* dv = Zeroed(&g.dv, N * KVD);
    for (int64_t s = 0; s < S; ++s) {
      const int64_t r0 = a->seq_start[s], T = a->seq_start[s + 1] - r0;
      attention_backward(dq + r0 * HD, dk + r0 * KVD, dv + r0 * KVD, dattn + r0 * HD,
                         la.q.data() + r0 * HD, la.k.data() + r0 * KVD, la.v.data() + r0 * KVD,
                         la.att.data() + a->att_start[s], T, H, KVH, D, pool);
    }
    float* dq_pre = Zeroed(&g.dq_pre, N * HD);
    float* dk_pre = Zeroed(&g.dk_pre, N * KVD);
    rope_backward(dq_pre, dq, a->positions.data(), rope_, N, H, D);
    rope_backward(dk_pre, dk, a->positions.data(), rope_, N, KVH, D);
    if (c.qk_norm) {
      float* dq_raw = Zeroed(&g.dq_raw, N * HD);
      float* dk_raw = Zeroed(&g.dk_raw, N * KVD);
      rmsnorm_backward(dq_raw, grads + o.q_norm, dq_pre, la.q_raw.data(), P + o.q_norm,
                       la.qn_rstd.data(), N * H, D, pool);
      rmsnorm_backward(dk_raw, grads + o.k_norm, dk_pre, la.k_raw.data(), P + o.k_norm,
                       la.kn_rstd.data(), N * KVH, D, pool);
      dq_pre = dq_raw;
      dk_pre = dk_raw;
    }
    internal::Grow(&g.dqkv, N * QKV);
    internal::MergeQkv(g.dqkv.data(), dq_pre, dk_pre, dv, N, HD, KVD);
    dln = Zeroed(&g.dln, N * C);
    matmul_backward(dln, grads + o.qkv_weight, o.qkv_bias >= 0 ? grads + o.qkv_bias : nullptr,
                    g.dqkv.data(), la.ln1.data(), P + o.qkv_weight, N, C, QKV, pool);
    rmsnorm_backward(dx, grads + o.input_norm, dln, x_in, P + o.input_norm, la.rstd1.data(), N, C,
                     pool);
  }
  embedding_backward(grads + layout_.embed(), dx, a->tokens.data(), N, C);
}

}  // namespace flywheel::model
