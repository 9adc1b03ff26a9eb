// PolicyTrainer: forward, loss, backward over micro-batches, then one optimizer update. See
// policy_trainer.h for the contract.
//
// Losses normalise over the whole batch (token counts, group statistics), so the gradient is
// known only once every micro-batch's logprobs are. A step therefore runs all forwards first,
// then the backward of each micro-batch. Only one micro-batch's activations are kept (memory is
// what micro-batching is for): the last forward's are used directly, the others are recomputed.
// The batch-invariant kernels make the recomputed forward bitwise equal to the first one.
#include "learner/training/policy_trainer.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/status_macros.h"
#include "common/kernels/cpu/adamw.h"
#include "learner/training/micro_batches.h"

namespace flywheel::learner {

absl::Status NonFiniteError(int64_t step, const std::string& detail) {
  return absl::FailedPreconditionError(
      absl::StrCat("non-finite loss/grad norm at step ", step, ": ", detail));
}

std::vector<std::string> OptimizerProblems(const OptimizerOptions& o) {
  std::vector<std::string> p;
  auto finite = [](double x) { return std::isfinite(x); };
  const LrSchedule& s = o.schedule;
  if (!finite(s.lr) || s.lr <= 0)
    p.push_back(absl::StrCat("lr must be finite and > 0, got ", s.lr));
  if (!(o.beta1 >= 0 && o.beta1 < 1)) {
    p.push_back(absl::StrCat("beta1 must be in [0, 1), got ", o.beta1));
  }
  if (!(o.beta2 >= 0 && o.beta2 < 1)) {
    p.push_back(absl::StrCat("beta2 must be in [0, 1), got ", o.beta2));
  }
  if (!finite(o.eps) || o.eps <= 0)
    p.push_back(absl::StrCat("eps must be finite and > 0, got ", o.eps));
  if (!finite(o.weight_decay) || o.weight_decay < 0) {
    p.push_back(absl::StrCat("weight_decay must be finite and >= 0, got ", o.weight_decay));
  }
  if (s.warmup_steps < 0) {
    p.push_back(absl::StrCat("warmup_steps must be >= 0, got ", s.warmup_steps));
  }
  if (!finite(o.grad_clip) || o.grad_clip < 0) {
    p.push_back(absl::StrCat("grad_clip must be finite and >= 0, got ", o.grad_clip));
  }
  if (!(s.min_lr_ratio >= 0 && s.min_lr_ratio <= 1)) {
    p.push_back(absl::StrCat("min_lr_ratio must be in [0, 1], got ", s.min_lr_ratio));
  }
  return p;
}

absl::StatusOr<std::unique_ptr<PolicyTrainer>> PolicyTrainer::Create(
    std::unique_ptr<model::Transformer> policy, const OptimizerOptions& options,
    int64_t micro_batch_size, ThreadPool* pool) {
  if (policy == nullptr) return absl::InvalidArgumentError("PolicyTrainer: null policy");
  if (micro_batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("PolicyTrainer: micro_batch_size ", micro_batch_size, " < 1"));
  }
  if (auto problems = OptimizerProblems(options); !problems.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("PolicyTrainer: optimizer ", absl::StrJoin(problems, "; ")));
  }
  return std::unique_ptr<PolicyTrainer>(
      new PolicyTrainer(std::move(policy), options, micro_batch_size, pool));
}

PolicyTrainer::PolicyTrainer(std::unique_ptr<model::Transformer> policy,
                             const OptimizerOptions& options, int64_t micro_batch_size,
                             ThreadPool* pool)
    : policy_(std::move(policy)),
      options_(options),
      micro_batch_size_(micro_batch_size),
      pool_(pool),
      m_(policy_->num_params(), 0.0f),
      v_(policy_->num_params(), 0.0f),
      grads_(policy_->num_params(), 0.0f) {}

absl::Status PolicyTrainer::RestoreState(int64_t step, std::vector<float> m, std::vector<float> v) {
  const size_t n = static_cast<size_t>(policy_->num_params());
  if (step < 0 || m.size() != n || v.size() != n) {
    return absl::InvalidArgumentError(absl::StrCat("RestoreState: step ", step, ", moments of ",
                                                   m.size(), " and ", v.size(),
                                                   " floats; the model has ", n, " parameters"));
  }
  step_ = step;
  m_ = std::move(m);
  v_ = std::move(v);
  return absl::OkStatus();
}

absl::Status PolicyTrainer::ForwardAll(const Seqs& seqs, std::vector<std::vector<float>>* logprobs,
                                       std::vector<std::vector<float>>* entropy) {
  logprobs->clear();
  entropy->clear();
  acts_micro_batch_ = -1;
  model::ForwardOptions fopts;
  fopts.entropy = true;
  const MicroBatches mb(seqs.size(), micro_batch_size_);
  for (int64_t k = 0; k < mb.count(); ++k) {
    model::ForwardResult res;
    RETURN_IF_ERROR(policy_->Forward(mb.Slice(seqs, k), fopts, &res, &acts_, pool_));
    for (auto& lp : res.logprobs) logprobs->push_back(std::move(lp));
    for (auto& e : res.entropy) entropy->push_back(std::move(e));
    acts_micro_batch_ = k;
  }
  return absl::OkStatus();
}

absl::Status PolicyTrainer::BackwardAll(const Seqs& seqs,
                                        const std::vector<std::vector<float>>& dlogprobs) {
  std::fill(grads_.begin(), grads_.end(), 0.0f);
  const MicroBatches mb(seqs.size(), micro_batch_size_);
  // The micro-batch whose activations are at hand goes first; the order is fixed by the batch
  // size alone, so the summation order of the gradient is deterministic.
  std::vector<int64_t> order;
  if (acts_micro_batch_ >= 0) order.push_back(acts_micro_batch_);
  for (int64_t k = 0; k < mb.count(); ++k) {
    if (k != acts_micro_batch_) order.push_back(k);
  }
  for (int64_t k : order) {
    if (k != acts_micro_batch_) {
      model::ForwardResult unused;
      RETURN_IF_ERROR(policy_->Forward(mb.Slice(seqs, k), {}, &unused, &acts_, pool_));
      acts_micro_batch_ = k;
    }
    policy_->Backward(&acts_, mb.Slice(dlogprobs, k), nullptr, grads_.data(), pool_);
  }
  return absl::OkStatus();
}

absl::Status PolicyTrainer::ApplyGradients(double loss, UpdateStats* stats) {
  const int64_t n = policy_->num_params();
  const double norm = kernels::grad_norm(grads_.data(), n, pool_);
  stats->grad_norm = norm;
  if (!std::isfinite(loss) || !std::isfinite(norm)) {
    return NonFiniteError(step_, absl::StrCat("loss ", loss, ", grad norm ", norm,
                                              "; weights and optimizer state unchanged"));
  }
  // Same scale as torch.nn.utils.clip_grad_norm_ (and kernels::clip_grad_norm), applied here so
  // the norm is computed once.
  if (options_.grad_clip > 0) {
    const float scale = static_cast<float>(std::min(1.0, options_.grad_clip / (norm + 1e-6)));
    if (scale < 1.0f) {
      float* g = grads_.data();
      ParallelFor(pool_, n, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) g[i] *= scale;
      });
    }
  }
  const double lr = LearningRate(options_.schedule, step_);
  stats->lr = lr;
  kernels::AdamWOptions adam;
  adam.lr = static_cast<float>(lr);
  adam.beta1 = static_cast<float>(options_.beta1);
  adam.beta2 = static_cast<float>(options_.beta2);
  adam.eps = static_cast<float>(options_.eps);
  adam.weight_decay = static_cast<float>(options_.weight_decay);
  kernels::adamw_update(policy_->mutable_params(), grads_.data(), m_.data(), v_.data(), n,
                        step_ + 1, adam, pool_);
  ++step_;
  stats->applied = true;
  return absl::OkStatus();
}

absl::StatusOr<UpdateStats> PolicyTrainer::Update(const std::vector<TrainSequence>& batch,
                                                  const LossFunction& loss) {
  if (batch.empty()) return absl::InvalidArgumentError("PolicyTrainer::Update: empty batch");
  // Validate everything before any work, so a bad batch changes nothing.
  Seqs seqs;
  seqs.reserve(batch.size());
  for (size_t s = 0; s < batch.size(); ++s) {
    const TrainSequence& b = batch[s];
    if (b.loss_begin < 1 || b.loss_begin >= static_cast<int64_t>(b.tokens.size())) {
      return absl::InvalidArgumentError(
          absl::StrCat("PolicyTrainer::Update: sequence ", s, " of ", b.tokens.size(),
                       " tokens trains from token ", b.loss_begin,
                       " (needs a token before and at least one after)"));
    }
    seqs.push_back(b.tokens);
  }
  RETURN_IF_ERROR(policy_->ValidateSequences(seqs));

  std::vector<std::vector<float>> logp, entropy;
  RETURN_IF_ERROR(ForwardAll(seqs, &logp, &entropy));
  // Row t of a sequence's forward is about token t + 1, so the trained tokens start at row
  // loss_begin - 1.
  LossInputs inputs;
  for (size_t s = 0; s < batch.size(); ++s) {
    const size_t r0 = static_cast<size_t>(batch[s].loss_begin - 1);
    const size_t n = static_cast<size_t>(batch[s].trained());
    inputs.logp.push_back(absl::Span<const float>(logp[s]).subspan(r0, n));
    inputs.entropy.push_back(absl::Span<const float>(entropy[s]).subspan(r0, n));
    for (float x : inputs.logp.back()) {
      if (!std::isfinite(x)) return NonFiniteError(step_, absl::StrCat("learner logprob ", x));
    }
  }
  ASSIGN_OR_RETURN(LossOutputs out, loss(inputs));
  UpdateStats stats;
  stats.loss = out.loss;
  if (out.skip) return stats;
  if (out.dlogp.size() != batch.size()) {
    return absl::InvalidArgumentError(absl::StrCat("PolicyTrainer::Update: the loss returned ",
                                                   out.dlogp.size(), " gradients for ",
                                                   batch.size(), " sequences"));
  }
  std::vector<std::vector<float>> dlogp(seqs.size());
  for (size_t s = 0; s < seqs.size(); ++s) {
    if (static_cast<int64_t>(out.dlogp[s].size()) != batch[s].trained()) {
      return absl::InvalidArgumentError(
          absl::StrCat("PolicyTrainer::Update: the loss's gradient of sequence ", s, " has ",
                       out.dlogp[s].size(), " entries for ", batch[s].trained(), " tokens"));
    }
    dlogp[s].assign(seqs[s].size() - 1, 0.0f);
    std::copy(out.dlogp[s].begin(), out.dlogp[s].end(),
              dlogp[s].begin() + (batch[s].loss_begin - 1));
  }
  RETURN_IF_ERROR(BackwardAll(seqs, dlogp));
  RETURN_IF_ERROR(ApplyGradients(stats.loss, &stats));
  return stats;
}

}  // namespace flywheel::learner
