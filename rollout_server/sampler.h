// Token sampling for the rollout engine.
//
// The processed distribution: logits / temperature, softmax, then top-k, top-p and min-p
// truncation in that order, each on what the previous left (renormalised). temperature 0 is
// greedy: the argmax, lowest id on ties. Without truncation the draw walks ids in index order;
// with truncation, in descending probability (ties by id).
//
// The random stream of a sample depends only on (seed, sample index, position): a counter-based
// generator hashes the three into one uniform number per token, so a sample is the same whether
// its request ran alone or among many others, and after preemption and recompute.
//
// Two logprobs are reported per token: `logprob`, under the raw model distribution (log-softmax
// of the logits, computed by the same kernel as the learner: bit for bit its value), and
// `sampling_logprob`, under the processed distribution the token was drawn from (0 for greedy).
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/status.h"

namespace flywheel::rollout {

struct SamplingOptions {
  float temperature = 1.0f;  // >= 0; 0 = greedy
  float top_p = 1.0f;        // (0, 1]
  int32_t top_k = 0;         // 0 = off
  float min_p = 0.0f;        // [0, 1)
  uint64_t seed = 0;
  // Only ids below this are drawn (0 = all): a checkpoint's embedding table is often padded
  // past its tokenizer's vocabulary, and those rows must never be sampled. The raw logprob is
  // still the log-softmax over every row, as the learner computes it.
  int64_t vocab_limit = 0;
};

// InvalidArgument naming the field when an option is out of range.
absl::Status ValidateSamplingOptions(const SamplingOptions& options);

struct SampledToken {
  int32_t token = 0;
  float logprob = 0;           // raw log-softmax
  float sampling_logprob = 0;  // processed distribution
};

// Uniform in [0, 1) from (seed, sample index, position) alone.
double SampleUniform(uint64_t seed, int64_t sample_index, int64_t position);

// Reusable scratch so sampling allocates nothing per token. Not thread-safe; one per thread.
class Sampler {
 public:
  // Samples from logits (V). `position` is the index the token will take in its sequence.
  SampledToken Sample(const float* logits, int64_t V, const SamplingOptions& options,
                      int64_t sample_index, int64_t position);

 private:
  struct Candidate {
    double p;
    int32_t id;
  };
  std::vector<double> probs_;
  std::vector<Candidate> cand_;
};

}  // namespace flywheel::rollout
