// The policy update on the model core: one optimizer step of GRPO or of supervised fine-tuning
// over a batch, with the forward and backward split into micro-batches whose gradients
// accumulate, global-norm clipping and AdamW at the scheduled rate (warmup, then an optional
// decay: lr_schedule.h).
//
// A step either applies completely or changes nothing: bad input is rejected before any work,
// and a non-finite loss or gradient norm is detected before the optimizer touches the weights or
// the moments. Results are deterministic: the same inputs (batch, micro-batch size, options,
// prior state) give bitwise the same weights, whatever the thread count of the pool.
//
// Thread safety: a PolicyTrainer is used by one thread at a time. The reference model is shared
// read-only and may be used concurrently by others.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/base/thread_pool.h"
#include "common/model/activations.h"
#include "common/model/transformer.h"
#include "learner/grpo_loss.h"
#include "learner/lr_schedule.h"

namespace flywheel::learner {

struct OptimizerOptions {
  LrSchedule schedule;  // the peak lr, warmup and decay (lr_schedule.h)
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double grad_clip = 1.0;  // max global L2 norm of the gradient; 0 = no clipping
};

// One sampled completion of a prompt.
struct TrainSample {
  std::vector<int32_t> prompt;            // token ids, non-empty
  std::vector<int32_t> completion;        // token ids, non-empty
  std::vector<float> behaviour_logprobs;  // raw rollout logprobs, one per completion token
  std::vector<int64_t> versions;          // weight version of each token; may be empty
  double reward = 0.0;
};
using TrainGroup = std::vector<TrainSample>;  // the G completions of one prompt

// A supervised example: the loss covers the target tokens only.
struct SftExample {
  std::vector<int32_t> prompt;  // non-empty
  std::vector<int32_t> target;  // non-empty
};

struct StepStats {
  double loss = 0;
  double grad_norm = 0;  // global L2 norm before clipping
  double lr = 0;         // the learning rate applied (after warmup)
  double entropy = 0;    // mean over the loss tokens of the next-token entropy
  double kl = 0;         // mean k3 against the reference (GRPO with a reference)
  double clip_frac = 0;  // tokens whose ratio was clipped (low + high)
  int64_t tokens = 0;    // tokens in the loss
  int dropped_groups = 0;
  // Nothing to learn from (every group dropped): weights unchanged, the step is not counted.
  bool skipped = false;
  // Rollout-vs-learner check over the samples whose `versions` all equal policy_version: the
  // behaviour logprobs must equal the learner's forward bit for bit.
  double logprob_diff_max = 0;
  double logprob_diff_mean = 0;
  int64_t logprob_tokens_checked = 0;
};

class PolicyTrainer {
 public:
  // Takes the policy. reference may be null; then GrpoStep rejects kl_coef > 0. pool may be null
  // (single-threaded) and is not owned. InvalidArgument for micro_batch_size < 1, a null policy,
  // a reference of another shape, or options out of range (lr < 0, betas outside [0, 1), ...).
  static absl::StatusOr<std::unique_ptr<PolicyTrainer>> Create(
      std::unique_ptr<model::Transformer> policy,
      std::shared_ptr<const model::Transformer> reference, const OptimizerOptions& options,
      int64_t micro_batch_size, ThreadPool* pool);

  PolicyTrainer(const PolicyTrainer&) = delete;
  PolicyTrainer& operator=(const PolicyTrainer&) = delete;

  const model::Transformer& policy() const { return *policy_; }
  const OptimizerOptions& options() const { return options_; }
  int64_t step() const { return step_; }  // optimizer steps applied so far

  // One GRPO step over `groups` (GrpoLoss with logp_old = behaviour_logprobs and the completion
  // tokens as the mask). policy_version is the learner's current weight version, used only for
  // the logprob check in StepStats.
  // Errors, with weights and optimizer state unchanged: InvalidArgument for bad input (no groups,
  // an empty group or prompt or completion, a length mismatch, an id outside the vocabulary, a
  // non-finite reward or behaviour logprob, kl_coef > 0 without a reference, bad GrpoOptions);
  // FailedPrecondition for a non-finite loss or gradient norm.
  absl::StatusOr<StepStats> GrpoStep(const std::vector<TrainGroup>& groups,
                                     const GrpoOptions& options, int64_t policy_version);

  // One SFT step: the token mean of -logprob over every target token of the batch. Errors as
  // GrpoStep (InvalidArgument for an empty batch, prompt or target, or a bad id).
  absl::StatusOr<StepStats> SftStep(const std::vector<SftExample>& batch);

  // AdamW moments (num_params each), for checkpoints.
  const std::vector<float>& adam_m() const { return m_; }
  const std::vector<float>& adam_v() const { return v_; }
  // Restores the optimizer from a checkpoint. InvalidArgument (nothing changed) unless step >= 0
  // and m, v have num_params floats each.
  absl::Status RestoreState(int64_t step, std::vector<float> m, std::vector<float> v);

 private:
  PolicyTrainer(std::unique_ptr<model::Transformer> policy,
                std::shared_ptr<const model::Transformer> reference,
                const OptimizerOptions& options, int64_t micro_batch_size, ThreadPool* pool);

  // Forward of the policy over seqs, micro-batch by micro-batch, saving activations; the last
  // micro-batch's stay in acts_ for Backward. Fills per-sequence logprobs and entropies.
  absl::Status ForwardAll(const std::vector<std::vector<int32_t>>& seqs,
                          std::vector<std::vector<float>>* logprobs,
                          std::vector<std::vector<float>>* entropy);
  // Zeroes grads_ and accumulates the gradient of a loss whose dL/dlogprob is dlogprobs (one
  // vector per sequence), re-running the forward of every micro-batch whose activations are not
  // in acts_ any more.
  absl::Status BackwardAll(const std::vector<std::vector<int32_t>>& seqs,
                           const std::vector<std::vector<float>>& dlogprobs);
  // Finite check, clipping and AdamW on grads_; fills grad_norm and lr in stats. On a
  // non-finite loss or norm returns FailedPrecondition with weights and moments unchanged.
  absl::Status ApplyGradients(double loss, StepStats* stats);

  std::unique_ptr<model::Transformer> policy_;
  std::shared_ptr<const model::Transformer> reference_;
  const OptimizerOptions options_;
  const int64_t micro_batch_size_;
  ThreadPool* const pool_;
  int64_t step_ = 0;
  std::vector<float> m_, v_, grads_;
  model::Activations acts_;
  int64_t acts_micro_batch_ = -1;  // which micro-batch acts_ holds; -1 none
};

// Raw logprobs of each sample's completion tokens under `model`, forwarded in micro-batches of
// micro_batch_size sequences. InvalidArgument for an empty prompt or completion, a bad id or
// micro_batch_size < 1.
absl::StatusOr<std::vector<std::vector<float>>> CompletionLogprobs(
    const model::Transformer& model, const std::vector<const TrainSample*>& samples,
    int64_t micro_batch_size, ThreadPool* pool);

}  // namespace flywheel::learner
