#include "common/model/transformer.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/base/logging.h"
#include "common/base/status_macros.h"
#include "common/kernels/cpu/attention.h"
#include "common/kernels/cpu/embedding.h"
#include "common/kernels/cpu/logprobs.h"
#include "common/kernels/cpu/matmul.h"
#include "common/kernels/cpu/residual.h"
#include "common/kernels/cpu/rmsnorm.h"
#include "common/kernels/cpu/swiglu.h"
#include "common/model/model_internal.h"

namespace flywheel::model {

using namespace kernels;  // NOLINT: the kernels are this file's vocabulary.

Transformer::Transformer(ModelWeights weights)
    : config_(weights.config),
      layout_(weights.config),
      params_(std::move(weights.params)),
      rope_(
          rope_table(config_.max_position_embeddings,
                     RopeInverseFrequencies(config_.head_dim, config_.rope_theta,
                                            config_.rope_scaling, config_.max_position_embeddings),
                     RopeAttentionFactor(config_.rope_scaling))) {}

absl::StatusOr<std::unique_ptr<Transformer>> Transformer::Create(ModelWeights weights) {
  RETURN_IF_ERROR(ValidateConfig(weights.config));
  ParameterLayout layout(weights.config);
  if (static_cast<int64_t>(weights.params.size()) != layout.num_params()) {
    return absl::InvalidArgumentError(absl::StrCat("model has ", weights.params.size(),
                                                   " parameters, its config needs ",
                                                   layout.num_params()));
  }
  return std::unique_ptr<Transformer>(new Transformer(std::move(weights)));
}

absl::StatusOr<std::unique_ptr<Transformer>> Transformer::Load(const std::string& dir) {
  ASSIGN_OR_RETURN(ModelWeights w, LoadModelDir(dir));
  return Create(std::move(w));
}

float* Transformer::mutable_params() {
  packed_.clear();
  packed_lm_head_ = PackedMatrix();
  return params_.data();
}

absl::Status Transformer::SwapParams(std::vector<float>* params) {
  if (static_cast<int64_t>(params->size()) != num_params()) {
    return absl::InvalidArgumentError(absl::StrCat("new weights have ", params->size(),
                                                   " parameters, the model has ", num_params()));
  }
  params_.swap(*params);
  mutable_params();
  return absl::OkStatus();
}

void Transformer::PackInferenceWeights(ThreadPool* pool) {
  const ModelConfig& c = config_;
  const float* P = params_.data();
  packed_.clear();
  packed_.resize(c.num_layers);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const LayerOffsets& o = layout_.layer(l);
    pack_linear_weight(&packed_[l].qkv, P + o.qkv_weight, c.hidden_size, c.qkv_dim(), pool);
    pack_linear_weight(&packed_[l].o, P + o.o_weight, c.q_dim(), c.hidden_size, pool);
    pack_linear_weight(&packed_[l].gate_up, P + o.gate_up, c.hidden_size, 2 * c.intermediate_size,
                       pool);
    pack_linear_weight(&packed_[l].down, P + o.down, c.intermediate_size, c.hidden_size, pool);
  }
  pack_linear_weight(&packed_lm_head_, P + layout_.lm_head(), c.hidden_size, c.vocab_size, pool);
}

int64_t Transformer::WeightBytes() const {
  int64_t bytes = static_cast<int64_t>(params_.size() * sizeof(float)) + packed_lm_head_.bytes();
  for (const PackedLayer& p : packed_) {
    bytes += p.qkv.bytes() + p.o.bytes() + p.gate_up.bytes() + p.down.bytes();
  }
  return bytes;
}

absl::Status Transformer::ValidateSequences(const std::vector<std::vector<int32_t>>& seqs) const {
  for (size_t s = 0; s < seqs.size(); ++s) {
    RETURN_IF_ERROR(ValidateTokens(config_, seqs[s], 0, absl::StrCat("sequence ", s)));
  }
  return absl::OkStatus();
}

void Transformer::Linear(float* out, const float* in, int64_t weight_offset, int64_t bias_offset,
                         int64_t N, int64_t C, int64_t OC, const PackedMatrix* packed,
                         ThreadPool* pool) const {
  const float* bias = bias_offset >= 0 ? params_.data() + bias_offset : nullptr;
  if (packed != nullptr && packed->n() == OC) {
    matmul_forward_packed(out, in, *packed, bias, N, pool);
  } else {
    matmul_forward(out, in, params_.data() + weight_offset, bias, N, C, OC, pool);
  }
}

void Transformer::LmHead(float* out, const Activations& a, int64_t r0, int64_t rows,
                         ThreadPool* pool) const {
  const int64_t C = config_.hidden_size;
  Linear(out, a.lnf.data() + r0 * C, layout_.lm_head(), -1, rows, C, config_.vocab_size,
         packed_.empty() ? nullptr : &packed_lm_head_, pool);
}

void Transformer::AttendSegments(const std::vector<Segment>& segments, int64_t l, KvCache* cache,
                                 LayerActivations* la, ThreadPool* pool) const {
  const ModelConfig& c = config_;
  const int64_t H = c.num_heads, KVH = c.num_kv_heads, D = c.head_dim, KVD = c.kv_dim();
  // Block pointers of every segment, in one array: with a cache, its block table; without, the
  // segment's own contiguous rows as a single block.
  int64_t n_ptrs = 0;
  for (const Segment& seg : segments) {
    n_ptrs +=
        cache == nullptr ? 1 : (seg.pos0 + seg.T + cache->block_size() - 1) / cache->block_size();
  }
  thread_local std::vector<const float*> k_ptrs, v_ptrs;
  thread_local std::vector<AttentionSegment> att;
  k_ptrs.resize(n_ptrs);
  v_ptrs.resize(n_ptrs);
  att.resize(segments.size());
  int64_t next = 0;
  for (size_t s = 0; s < segments.size(); ++s) {
    const Segment& seg = segments[s];
    const float* k_own = la->k.data() + seg.row0 * KVD;
    const float* v_own = la->v.data() + seg.row0 * KVD;
    AttentionSegment& as = att[s];
    as.row0 = seg.row0;
    as.T = seg.T;
    as.pos0 = seg.pos0;
    as.kv = KvView{k_ptrs.data() + next, v_ptrs.data() + next, 0, KVD};
    if (cache == nullptr) {
      k_ptrs[next] = k_own;
      v_ptrs[next] = v_own;
      as.kv.block_size = std::max<int64_t>(seg.T, 1);
      ++next;
      continue;
    }
    const int64_t bs = cache->block_size();
    for (int64_t t = 0; t < seg.T; ++t) {  // Store the new rows, then attend through the cache.
      const int64_t p = seg.pos0 + t;
      const int32_t blk = seg.block_table[p / bs];
      std::memcpy(cache->k(l, blk) + (p % bs) * KVD, k_own + t * KVD, KVD * sizeof(float));
      std::memcpy(cache->v(l, blk) + (p % bs) * KVD, v_own + t * KVD, KVD * sizeof(float));
    }
    const int64_t nblk = (seg.pos0 + seg.T + bs - 1) / bs;
    for (int64_t b = 0; b < nblk; ++b) {
      k_ptrs[next + b] = cache->k(l, seg.block_table[b]);
      v_ptrs[next + b] = cache->v(l, seg.block_table[b]);
    }
    as.kv.block_size = bs;
    next += nblk;
  }
  attention_forward_segments(la->attn_out.data(), la->q.data(), att.data(),
                             static_cast<int64_t>(att.size()), H, KVH, D, pool);
}

void Transformer::ForwardRows(const std::vector<Segment>& segments, bool save, KvCache* cache,
                              Activations* a, ThreadPool* pool) const {
  using internal::Grow;
  const ModelConfig& c = config_;
  const int64_t N = static_cast<int64_t>(a->tokens.size());
  const int64_t C = c.hidden_size, H = c.num_heads, KVH = c.num_kv_heads, D = c.head_dim;
  const int64_t HD = c.q_dim(), KVD = c.kv_dim(), QKV = c.qkv_dim(), I = c.intermediate_size;
  const int64_t L = c.num_layers;
  const float eps = static_cast<float>(c.rms_norm_eps);
  const float* P = params_.data();

  a->saved = save;
  Grow(&a->resid, (save ? L + 1 : 2) * N * C);
  Grow(&a->resid_mid, (save ? L : 1) * N * C);
  a->layers.resize(save ? L : 1);
  // Without saving, two residual buffers alternate and one LayerActivations serves every layer.
  auto resid = [&](int64_t l) { return a->resid.data() + (save ? l : l % 2) * N * C; };
  const int64_t att_total = a->att_start.empty() ? 0 : a->att_start.back();

  embedding_forward(resid(0), a->tokens.data(), P + layout_.embed(), N, C);
  for (int64_t l = 0; l < L; ++l) {
    LayerActivations& la = a->layers[save ? l : 0];
    const LayerOffsets& o = layout_.layer(l);
    const PackedLayer* pk = packed_.empty() ? nullptr : &packed_[l];
    Grow(&la.ln1, N * C);
    Grow(&la.rstd1, N);
    Grow(&la.qkv, N * QKV);
    Grow(&la.q, N * HD);
    Grow(&la.k, N * KVD);
    Grow(&la.v, N * KVD);
    Grow(&la.attn_out, N * HD);
    Grow(&la.ln2, N * C);
    Grow(&la.rstd2, N);
    Grow(&la.gate_up, N * 2 * I);
    Grow(&la.mlp_act, N * I);
    const bool keep_att = save && cache == nullptr;
    if (keep_att) Grow(&la.att, att_total);

    float* x = resid(l);
    rmsnorm_forward(la.ln1.data(), la.rstd1.data(), x, P + o.input_norm, eps, N, C, pool);
    Linear(la.qkv.data(), la.ln1.data(), o.qkv_weight, o.qkv_bias, N, C, QKV,
           pk ? &pk->qkv : nullptr, pool);
    if (c.qk_norm) {
      Grow(&la.q_raw, N * HD);
      Grow(&la.k_raw, N * KVD);
      Grow(&la.qn_rstd, N * H);
      Grow(&la.kn_rstd, N * KVH);
      internal::SplitQkv(la.q_raw.data(), la.k_raw.data(), la.v.data(), la.qkv.data(), N, HD, KVD);
      rmsnorm_forward(la.q.data(), la.qn_rstd.data(), la.q_raw.data(), P + o.q_norm, eps, N * H, D,
                      pool);
      rmsnorm_forward(la.k.data(), la.kn_rstd.data(), la.k_raw.data(), P + o.k_norm, eps, N * KVH,
                      D, pool);
    } else {
      internal::SplitQkv(la.q.data(), la.k.data(), la.v.data(), la.qkv.data(), N, HD, KVD);
    }
    rope_forward(la.q.data(), la.q.data(), a->positions.data(), rope_, N, H, D);
    rope_forward(la.k.data(), la.k.data(), a->positions.data(), rope_, N, KVH, D);

    if (keep_att) {
      // Training: each sequence attends within itself and keeps its probabilities for backward.
      for (size_t s = 0; s < segments.size(); ++s) {
        const Segment& seg = segments[s];
        const float* k_own = la.k.data() + seg.row0 * KVD;
        const float* v_own = la.v.data() + seg.row0 * KVD;
        const KvView kv{&k_own, &v_own, std::max<int64_t>(seg.T, 1), KVD};
        attention_forward(la.attn_out.data() + seg.row0 * HD, la.att.data() + a->att_start[s],
                          la.q.data() + seg.row0 * HD, kv, seg.pos0, seg.T, H, KVH, D, pool);
      }
    } else {
      AttendSegments(segments, l, cache, &la, pool);
    }

    float* xm = a->resid_mid.data() + (save ? l : 0) * N * C;
    Linear(xm, la.attn_out.data(), o.o_weight, -1, N, HD, C, pk ? &pk->o : nullptr, pool);
    residual_forward(xm, x, xm, N * C);
    rmsnorm_forward(la.ln2.data(), la.rstd2.data(), xm, P + o.post_norm, eps, N, C, pool);
    Linear(la.gate_up.data(), la.ln2.data(), o.gate_up, -1, N, C, 2 * I,
           pk ? &pk->gate_up : nullptr, pool);
    swiglu_forward(la.mlp_act.data(), la.gate_up.data(), N, I, pool);
    float* xn = resid(l + 1);
    Linear(xn, la.mlp_act.data(), o.down, -1, N, I, C, pk ? &pk->down : nullptr, pool);
    residual_forward(xn, xm, xn, N * C);
  }
  Grow(&a->lnf, N * C);
  Grow(&a->rstdf, N);
  rmsnorm_forward(a->lnf.data(), a->rstdf.data(), resid(L), P + layout_.final_norm(), eps, N, C,
                  pool);
}

absl::Status Transformer::Forward(const std::vector<std::vector<int32_t>>& seqs,
                                  const ForwardOptions& options, ForwardResult* result,
                                  Activations* acts, ThreadPool* pool) const {
  using internal::Grow;
  RETURN_IF_ERROR(ValidateSequences(seqs));
  Activations local;
  Activations* a = acts != nullptr ? acts : &local;
  internal::FlattenBatch(seqs, config_.num_heads, a);
  const int64_t N = static_cast<int64_t>(a->tokens.size()), V = config_.vocab_size;
  std::vector<Segment> segments;
  for (size_t s = 0; s < seqs.size(); ++s) {
    segments.push_back({a->seq_start[s], static_cast<int64_t>(seqs[s].size()), 0, {}});
  }
  ForwardRows(segments, /*save=*/acts != nullptr, nullptr, a, pool);

  Grow(&a->lse, N);
  Grow(&a->logprobs, N);
  Grow(&a->entropy, N);
  a->has_entropy = options.entropy;
  a->logits_kept = options.logits || N * V <= internal::kKeepLogitsFloats;
  if (a->logits_kept) Grow(&a->logits, N * V);
  const int64_t chunk = internal::LogitChunkRows(V);
  std::vector<float> scratch;
  for (int64_t r0 = 0; r0 < N; r0 += chunk) {
    const int64_t rows = std::min(chunk, N - r0);
    float* logits =
        a->logits_kept ? a->logits.data() + r0 * V : (Grow(&scratch, rows * V), scratch.data());
    LmHead(logits, *a, r0, rows, pool);
    logprobs_forward(a->logprobs.data() + r0, options.entropy ? a->entropy.data() + r0 : nullptr,
                     a->lse.data() + r0, logits, a->targets.data() + r0, rows, V, pool);
  }

  result->logprobs.assign(seqs.size(), {});
  result->entropy.assign(options.entropy ? seqs.size() : 0, {});
  for (size_t s = 0; s < seqs.size(); ++s) {
    const int64_t r0 = a->seq_start[s], T = static_cast<int64_t>(seqs[s].size());
    result->logprobs[s].assign(a->logprobs.begin() + r0, a->logprobs.begin() + r0 + T - 1);
    if (options.entropy)
      result->entropy[s].assign(a->entropy.begin() + r0, a->entropy.begin() + r0 + T - 1);
  }
  if (options.logits) result->logits.assign(a->logits.begin(), a->logits.begin() + N * V);
  return absl::OkStatus();
}

absl::Status Transformer::ForwardIncremental(const std::vector<SeqStep>& steps, bool all_logits,
                                             KvCache* cache, IncrementalResult* result,
                                             ThreadPool* pool, Activations* scratch) const {
  if (cache == nullptr) return absl::InvalidArgumentError("ForwardIncremental needs a KV cache");
  const int64_t V = config_.vocab_size, bs = cache->block_size();
  if (cache->row_floats() != config_.kv_dim()) {
    return absl::InvalidArgumentError("KV cache was built for a different model shape");
  }
  Activations local;
  Activations& a = scratch != nullptr ? *scratch : local;
  a.tokens.clear();
  a.positions.clear();
  std::vector<Segment> segments;
  for (size_t s = 0; s < steps.size(); ++s) {
    const SeqStep& st = steps[s];
    const std::string what = absl::StrCat("step ", s);
    if (st.tokens.empty()) return absl::InvalidArgumentError(absl::StrCat(what, ": no tokens"));
    if (st.pos0 < 0) return absl::InvalidArgumentError(absl::StrCat(what, ": negative position"));
    RETURN_IF_ERROR(ValidateTokens(config_, st.tokens, st.pos0, what));
    const int64_t end = st.pos0 + static_cast<int64_t>(st.tokens.size());
    const int64_t needed = (end + bs - 1) / bs;
    if (static_cast<int64_t>(st.block_table.size()) < needed) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": block table has ", st.block_table.size(),
                       " blocks, positions up to ", end, " need ", needed));
    }
    for (int64_t b = 0; b < needed; ++b) {
      if (st.block_table[b] < 0 || st.block_table[b] >= cache->num_blocks()) {
        return absl::InvalidArgumentError(absl::StrCat(what, ": block id ", st.block_table[b],
                                                       " outside the cache's ", cache->num_blocks(),
                                                       " blocks"));
      }
    }
    segments.push_back({static_cast<int64_t>(a.tokens.size()),
                        static_cast<int64_t>(st.tokens.size()), st.pos0, st.block_table});
    for (size_t t = 0; t < st.tokens.size(); ++t) {
      a.tokens.push_back(st.tokens[t]);
      a.positions.push_back(static_cast<int32_t>(st.pos0 + t));
    }
  }
  ForwardRows(segments, /*save=*/false, cache, &a, pool);

  if (all_logits) {
    result->logits.resize(a.tokens.size() * V);
    LmHead(result->logits.data(), a, 0, static_cast<int64_t>(a.tokens.size()), pool);
    return absl::OkStatus();
  }
  // Only each step's last row is needed: gather those rows (in place: row s <= its last row) so
  // the LM head runs once on S rows.
  const int64_t C = config_.hidden_size, S = static_cast<int64_t>(segments.size());
  for (int64_t s = 0; s < S; ++s) {
    const int64_t row = segments[s].row0 + segments[s].T - 1;
    if (row != s) std::memcpy(a.lnf.data() + s * C, a.lnf.data() + row * C, C * sizeof(float));
  }
  result->logits.resize(S * V);
  LmHead(result->logits.data(), a, 0, S, pool);
  return absl::OkStatus();
}

}  // namespace flywheel::model
