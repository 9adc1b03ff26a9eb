// The decoder-only transformer (Llama / Qwen2 / Qwen3) that the rollout engine and the learner
// both run. Both call the same forward code on the same batch-invariant kernels, so the logprob
// the rollout server reports for a token is bit for bit the one the learner recomputes, whatever
// the batch, the thread count or whether the KV cache was used.
//
// Thread safety: const methods may run concurrently with separate Activations / KvCache objects;
// mutable_params() and PackInferenceWeights() need exclusive access.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/base/thread_pool.h"
#include "common/kernels/cpu/gemm.h"
#include "common/kernels/cpu/rope.h"
#include "common/model/activations.h"
#include "common/model/checkpoint.h"
#include "common/model/config.h"
#include "common/model/kv_cache.h"
#include "common/model/parameters.h"

namespace flywheel::model {

struct ForwardOptions {
  bool entropy = false;  // Fill ForwardResult::entropy.
  bool logits = false;   // Fill ForwardResult::logits (N, V); memory heavy for large vocabularies.
};

struct ForwardResult {
  // Per sequence s of length T_s: T_s - 1 values; entry t is about token seq[t + 1] given
  // seq[0..t].
  std::vector<std::vector<float>> logprobs;
  std::vector<std::vector<float>> entropy;  // Of the next-token distribution at row t.
  std::vector<float> logits;                // (N, V) over all rows of all sequences, if asked.
};

struct IncrementalResult {
  // (S, V): the next-token logits after the last new token of each step, or (Σ n_s, V) for every
  // new token when all_logits was asked.
  std::vector<float> logits;
};

class Transformer {
 public:
  // Takes the weights; checks the config and that params has the layout's size.
  static absl::StatusOr<std::unique_ptr<Transformer>> Create(ModelWeights weights);
  // LoadModelDir + Create.
  static absl::StatusOr<std::unique_ptr<Transformer>> Load(const std::string& dir);

  Transformer(const Transformer&) = delete;
  Transformer& operator=(const Transformer&) = delete;

  const ModelConfig& config() const { return config_; }
  const ParameterLayout& layout() const { return layout_; }
  int64_t num_params() const { return layout_.num_params(); }
  const float* params() const { return params_.data(); }
  // Moves the weights out, so that their memory can hold the next ones (a rollout server's
  // staging buffer); the model must not be used afterwards.
  std::vector<float> ReleaseParams() && { return std::move(params_); }
  // Write access to the weights; drops any packed inference weights (they would be stale).
  float* mutable_params();
  // Exchanges the weights with *params in O(1) (an in-flight weight update). InvalidArgument
  // unless params has num_params() floats. Drops packed inference weights.
  absl::Status SwapParams(std::vector<float>* params);

  // InvalidArgument unless every sequence is non-empty, fits max_position_embeddings and holds
  // only ids in [0, vocab_size).
  absl::Status ValidateSequences(const std::vector<std::vector<int32_t>>& seqs) const;

  // Full-sequence forward over a batch (see ForwardResult). With acts non-null the activations
  // needed by Backward are kept there; pass the same Activations to Backward.
  absl::Status Forward(const std::vector<std::vector<int32_t>>& seqs, const ForwardOptions& options,
                       ForwardResult* result, Activations* acts, ThreadPool* pool) const;

  // Backward of the Forward that filled acts. dlogprobs[s] and (optionally) dentropy[s] have the
  // shapes of ForwardResult::logprobs[s]: ∂L/∂logprob and ∂L/∂entropy. Accumulates ∂L/∂params
  // into grads (num_params floats, +=). dentropy may be null.
  void Backward(Activations* acts, const std::vector<std::vector<float>>& dlogprobs,
                const std::vector<std::vector<float>>* dentropy, float* grads,
                ThreadPool* pool) const;

  // KV-cached forward of new tokens for several sequences at once (prefills and decode steps can
  // be mixed). Writes the new tokens' keys and values into cache and returns next-token logits.
  // InvalidArgument on bad ids, positions past the context, or block tables that are too short or
  // name blocks outside the cache. scratch (may be null) holds the step's activations; a caller
  // that passes the same one every step allocates nothing after the first steps.
  absl::Status ForwardIncremental(const std::vector<SeqStep>& steps, bool all_logits,
                                  KvCache* cache, IncrementalResult* result, ThreadPool* pool,
                                  Activations* scratch = nullptr) const;

  // Bytes the weights occupy in memory: the parameters plus their packed copies, if any.
  int64_t WeightBytes() const;

  // Packs the linear weights once for the small-batch decode GEMMs (bit-identical results, less
  // memory traffic per step). Call again after changing the weights.
  void PackInferenceWeights(ThreadPool* pool);
  bool has_packed_weights() const { return !packed_.empty(); }

 private:
  struct PackedLayer {
    kernels::PackedMatrix qkv, o, gate_up, down;
  };
  // Describes one attention segment of the flat batch: rows [row0, row0 + T) at positions
  // pos0 .. pos0 + T - 1 of one sequence; for incremental steps, its block table.
  struct Segment {
    int64_t row0, T, pos0;
    absl::Span<const int32_t> block_table;
  };

  explicit Transformer(ModelWeights weights);

  // The shared forward over the flat batch in acts (tokens, positions). With cache null this is
  // a full-sequence forward (each segment attends within itself, pos0 = 0) and, if save, keeps
  // every layer's activations; with a cache each segment's keys/values are written into it and
  // attention reads them back through the block table. Leaves the final normed rows in acts->lnf.
  void ForwardRows(const std::vector<Segment>& segments, bool save, KvCache* cache,
                   Activations* acts, ThreadPool* pool) const;
  // Attention of layer l for every segment in one batched call (attention_forward_segments); with
  // a cache, first stores the segments' new keys and values in it. For inference only (no
  // probabilities kept).
  void AttendSegments(const std::vector<Segment>& segments, int64_t l, KvCache* cache,
                      LayerActivations* la, ThreadPool* pool) const;
  // out (N, OC) = in (N, C) · W(offset)ᵀ (+ bias); uses the packed copy when there is one.
  void Linear(float* out, const float* in, int64_t weight_offset, int64_t bias_offset, int64_t N,
              int64_t C, int64_t OC, const kernels::PackedMatrix* packed, ThreadPool* pool) const;
  // Logits rows [r0, r0 + rows) of acts->lnf into out (rows, V).
  void LmHead(float* out, const Activations& acts, int64_t r0, int64_t rows,
              ThreadPool* pool) const;

  ModelConfig config_;
  ParameterLayout layout_;
  std::vector<float> params_;
  kernels::RopeTable rope_;
  std::vector<PackedLayer>
      packed_;  // Empty unless PackInferenceWeights() ran since the last write.
  kernels::PackedMatrix packed_lm_head_;
};

}  // namespace flywheel::model
