// The policy update on the model core, whatever the algorithm: one optimizer step over a batch of
// sequences whose trained tokens carry a loss. The forward and backward are split into
// micro-batches whose gradients accumulate; then global-norm clipping and AdamW at the scheduled
// rate (warmup, then an optional decay: lr_schedule.h). The algorithms (learner/algorithms/) say
// which tokens are trained and give the loss and its per-token gradient through a LossFunction.
//
// A step either applies completely or changes nothing: bad input is rejected before any work,
// and a non-finite logprob, loss or gradient norm is detected before the optimizer touches the
// weights or the moments. Results are deterministic: the same inputs (batch, micro-batch size,
// options, prior state) give bitwise the same weights, whatever the thread count of the pool.
//
// Thread safety: a PolicyTrainer is used by one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/base/thread_pool.h"
#include "common/model/activations.h"
#include "common/model/transformer.h"
#include "learner/training/lr_schedule.h"

namespace flywheel::learner {

struct OptimizerOptions {
  LrSchedule schedule;  // the peak lr, warmup and decay (lr_schedule.h)
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double grad_clip = 1.0;  // max global L2 norm of the gradient; 0 = no clipping
};

// Every problem with `options`, one line each naming the field as the job spec does
// ("lr must be finite and > 0, got 0"); empty when they are valid. The one definition of what an
// optimizer setting may be: the job-spec check and PolicyTrainer::Create both use it.
std::vector<std::string> OptimizerProblems(const OptimizerOptions& options);

// One sequence of a batch: its tokens, and where the trained part starts. The loss covers
// tokens[loss_begin ..], each predicted from the tokens before it, so 1 <= loss_begin <
// tokens.size() (the first trained token needs a token to be predicted from).
struct TrainSequence {
  std::vector<int32_t> tokens;
  int64_t loss_begin = 1;
  int64_t trained() const { return static_cast<int64_t>(tokens.size()) - loss_begin; }
};

// What a loss sees: per sequence, the policy's raw logprob and the entropy of the next-token
// distribution at each trained token (spans of trained() floats, valid during the call).
struct LossInputs {
  std::vector<absl::Span<const float>> logp;
  std::vector<absl::Span<const float>> entropy;
};

// What a loss returns: its value and dL/dlogp at each trained token (same shapes as
// LossInputs::logp). skip: nothing to learn from this batch; no update is applied and the
// optimizer step is not counted.
struct LossOutputs {
  double loss = 0.0;
  std::vector<std::vector<float>> dlogp;
  bool skip = false;
};

using LossFunction = std::function<absl::StatusOr<LossOutputs>(const LossInputs&)>;

struct UpdateStats {
  double loss = 0.0;
  double grad_norm = 0.0;  // global L2 norm before clipping
  double lr = 0.0;         // the rate applied
  bool applied = false;    // false when the loss asked to skip
};

class PolicyTrainer {
 public:
  // Takes the policy. pool may be null (single-threaded) and is not owned. InvalidArgument for a
  // null policy, micro_batch_size < 1, or options with problems (OptimizerProblems).
  static absl::StatusOr<std::unique_ptr<PolicyTrainer>> Create(
      std::unique_ptr<model::Transformer> policy, const OptimizerOptions& options,
      int64_t micro_batch_size, ThreadPool* pool);

  PolicyTrainer(const PolicyTrainer&) = delete;
  PolicyTrainer& operator=(const PolicyTrainer&) = delete;

  const model::Transformer& policy() const { return *policy_; }
  const OptimizerOptions& options() const { return options_; }
  int64_t micro_batch_size() const { return micro_batch_size_; }
  ThreadPool* pool() const { return pool_; }
  int64_t step() const { return step_; }  // optimizer steps applied so far

  // One optimizer step: forward every sequence, call `loss` once with the logprobs of all trained
  // tokens, backpropagate its gradient, clip and apply AdamW.
  // Errors, with weights and optimizer state unchanged: InvalidArgument for an empty batch, a
  // sequence whose loss_begin is out of range, an id outside the vocabulary, or dlogp of the
  // wrong shape; FailedPrecondition ("non-finite loss/grad norm at step N: ...") for a non-finite
  // learner logprob, loss, gradient or norm; any error `loss` returns.
  absl::StatusOr<UpdateStats> Update(const std::vector<TrainSequence>& batch,
                                     const LossFunction& loss);

  // AdamW moments (num_params each), for checkpoints.
  const std::vector<float>& adam_m() const { return m_; }
  const std::vector<float>& adam_v() const { return v_; }
  // Restores the optimizer from a checkpoint. InvalidArgument (nothing changed) unless step >= 0
  // and m, v have num_params floats each.
  absl::Status RestoreState(int64_t step, std::vector<float> m, std::vector<float> v);

 private:
  PolicyTrainer(std::unique_ptr<model::Transformer> policy, const OptimizerOptions& options,
                int64_t micro_batch_size, ThreadPool* pool);

  using Seqs = std::vector<std::vector<int32_t>>;
  // Forward of the policy over seqs, micro-batch by micro-batch, saving activations; the last
  // micro-batch's stay in acts_ for BackwardAll. Fills per-sequence logprobs and entropies.
  absl::Status ForwardAll(const Seqs& seqs, std::vector<std::vector<float>>* logprobs,
                          std::vector<std::vector<float>>* entropy);
  // Zeroes grads_ and accumulates the gradient of a loss whose dL/dlogprob is dlogprobs (one
  // vector per sequence), re-running the forward of every micro-batch whose activations are not
  // in acts_ any more.
  absl::Status BackwardAll(const Seqs& seqs, const std::vector<std::vector<float>>& dlogprobs);
  // Finite check, clipping and AdamW on grads_; fills grad_norm and lr. On a non-finite loss or
  // norm returns FailedPrecondition with weights and moments unchanged.
  absl::Status ApplyGradients(double loss, UpdateStats* stats);

  std::unique_ptr<model::Transformer> policy_;
  const OptimizerOptions options_;
  const int64_t micro_batch_size_;
  ThreadPool* const pool_;
  int64_t step_ = 0;
  std::vector<float> m_, v_, grads_;
  model::Activations acts_;
  int64_t acts_micro_batch_ = -1;  // which micro-batch acts_ holds; -1 none
};

// The failure every update reports for non-finite numbers, so a job can recognise it.
absl::Status NonFiniteError(int64_t step, const std::string& detail);

}  // namespace flywheel::learner
