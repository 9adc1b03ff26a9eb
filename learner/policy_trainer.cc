// PolicyTrainer: GRPO and SFT steps as forward, loss, backward over micro-batches, then one
// optimizer update. See policy_trainer.h for the contract.
//
// The GRPO loss normalises over the whole batch (token counts, group statistics), so its gradient
// is known only once every micro-batch's logprobs are. A step therefore runs all forwards first,
// then the backward of each micro-batch. Only one micro-batch's activations are kept (memory is
// what micro-batching is for): the last forward's are used directly, the others are recomputed.
// The batch-invariant kernels make the recomputed forward bitwise equal to the first one.
#include "learner/policy_trainer.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/kernels/cpu/adamw.h"
#include "common/kernels/cpu/cross_entropy.h"

namespace flywheel::learner {
namespace {

using Seqs = std::vector<std::vector<int32_t>>;

// [begin, end) of micro-batch k over n sequences.
std::pair<size_t, size_t> MicroBatch(size_t n, int64_t mbs, int64_t k) {
  const size_t b = static_cast<size_t>(k * mbs);
  return {b, std::min(n, b + static_cast<size_t>(mbs))};
}

int64_t NumMicroBatches(size_t n, int64_t mbs) { return (static_cast<int64_t>(n) + mbs - 1) / mbs; }

template <typename T>
std::vector<T> Slice(const std::vector<T>& v, std::pair<size_t, size_t> r) {
  return std::vector<T>(v.begin() + r.first, v.begin() + r.second);
}

// prompt followed by rest; InvalidArgument if either is empty (the first generated token needs
// a prompt token to be predicted from).
absl::StatusOr<std::vector<int32_t>> JoinSequence(const std::vector<int32_t>& prompt,
                                                  const std::vector<int32_t>& rest,
                                                  const std::string& what) {
  if (prompt.empty()) return absl::InvalidArgumentError(absl::StrCat(what, ": empty prompt"));
  if (rest.empty()) return absl::InvalidArgumentError(absl::StrCat(what, ": empty completion"));
  std::vector<int32_t> seq = prompt;
  seq.insert(seq.end(), rest.begin(), rest.end());
  return seq;
}

absl::Status CheckSample(const TrainSample& s, const std::string& what) {
  if (s.behaviour_logprobs.size() != s.completion.size()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", s.behaviour_logprobs.size(),
                                                   " behaviour logprobs for ", s.completion.size(),
                                                   " completion tokens"));
  }
  if (!s.versions.empty() && s.versions.size() != s.completion.size()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", s.versions.size(), " versions for ",
                                                   s.completion.size(), " completion tokens"));
  }
  if (!std::isfinite(s.reward)) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": non-finite reward ", s.reward));
  }
  for (size_t t = 0; t < s.behaviour_logprobs.size(); ++t) {
    if (!std::isfinite(s.behaviour_logprobs[t])) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": non-finite behaviour logprob at token ", t, " (",
                       s.behaviour_logprobs[t], "): the sampling weights have diverged"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckOptimizerOptions(const OptimizerOptions& o) {
  auto bad = [](const char* what, double v) {
    return absl::InvalidArgumentError(absl::StrCat("PolicyTrainer: bad option ", what, " = ", v));
  };
  const LrSchedule& s = o.schedule;
  if (!(s.lr >= 0) || !std::isfinite(s.lr)) return bad("lr", s.lr);
  if (!(o.beta1 >= 0 && o.beta1 < 1)) return bad("beta1", o.beta1);
  if (!(o.beta2 >= 0 && o.beta2 < 1)) return bad("beta2", o.beta2);
  if (!(o.eps > 0) || !std::isfinite(o.eps)) return bad("eps", o.eps);
  if (!(o.weight_decay >= 0) || !std::isfinite(o.weight_decay)) {
    return bad("weight_decay", o.weight_decay);
  }
  if (s.warmup_steps < 0) return bad("warmup_steps", static_cast<double>(s.warmup_steps));
  if (!(s.min_lr_ratio >= 0 && s.min_lr_ratio <= 1)) return bad("min_lr_ratio", s.min_lr_ratio);
  if (!(o.grad_clip >= 0) || !std::isfinite(o.grad_clip)) return bad("grad_clip", o.grad_clip);
  return absl::OkStatus();
}

// The non-finite failure every step reports the same way, so the job can recognise it.
absl::Status NonFinite(int64_t step, const std::string& detail) {
  return absl::FailedPreconditionError(
      absl::StrCat("non-finite loss/grad norm at step ", step, ": ", detail));
}

}  // namespace

absl::StatusOr<std::unique_ptr<PolicyTrainer>> PolicyTrainer::Create(
    std::unique_ptr<model::Transformer> policy, std::shared_ptr<const model::Transformer> reference,
    const OptimizerOptions& options, int64_t micro_batch_size, ThreadPool* pool) {
  if (policy == nullptr) return absl::InvalidArgumentError("PolicyTrainer: null policy");
  if (micro_batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("PolicyTrainer: micro_batch_size ", micro_batch_size, " < 1"));
  }
  RETURN_IF_ERROR(CheckOptimizerOptions(options));
  if (reference != nullptr && (reference->num_params() != policy->num_params() ||
                               reference->config().vocab_size != policy->config().vocab_size)) {
    return absl::InvalidArgumentError("PolicyTrainer: reference and policy differ in shape");
  }
  return std::unique_ptr<PolicyTrainer>(
      new PolicyTrainer(std::move(policy), std::move(reference), options, micro_batch_size, pool));
}

PolicyTrainer::PolicyTrainer(std::unique_ptr<model::Transformer> policy,
                             std::shared_ptr<const model::Transformer> reference,
                             const OptimizerOptions& options, int64_t micro_batch_size,
                             ThreadPool* pool)
    : policy_(std::move(policy)),
      reference_(std::move(reference)),
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
  const int64_t k_end = NumMicroBatches(seqs.size(), micro_batch_size_);
  model::ForwardOptions fopts;
  fopts.entropy = true;
  for (int64_t k = 0; k < k_end; ++k) {
    model::ForwardResult res;
    RETURN_IF_ERROR(policy_->Forward(Slice(seqs, MicroBatch(seqs.size(), micro_batch_size_, k)),
                                     fopts, &res, &acts_, pool_));
    for (auto& lp : res.logprobs) logprobs->push_back(std::move(lp));
    for (auto& e : res.entropy) entropy->push_back(std::move(e));
    acts_micro_batch_ = k;
  }
  return absl::OkStatus();
}

absl::Status PolicyTrainer::BackwardAll(const Seqs& seqs,
                                        const std::vector<std::vector<float>>& dlogprobs) {
  std::fill(grads_.begin(), grads_.end(), 0.0f);
  const int64_t k_end = NumMicroBatches(seqs.size(), micro_batch_size_);
  // The micro-batch whose activations are at hand goes first; the order is fixed by the batch
  // size alone, so the summation order of the gradient is deterministic.
  std::vector<int64_t> order;
  if (acts_micro_batch_ >= 0) order.push_back(acts_micro_batch_);
  for (int64_t k = 0; k < k_end; ++k) {
    if (k != acts_micro_batch_) order.push_back(k);
  }
  for (int64_t k : order) {
    const auto range = MicroBatch(seqs.size(), micro_batch_size_, k);
    if (k != acts_micro_batch_) {
      model::ForwardResult unused;
      RETURN_IF_ERROR(policy_->Forward(Slice(seqs, range), {}, &unused, &acts_, pool_));
      acts_micro_batch_ = k;
    }
    policy_->Backward(&acts_, Slice(dlogprobs, range), nullptr, grads_.data(), pool_);
  }
  return absl::OkStatus();
}

absl::Status PolicyTrainer::ApplyGradients(double loss, StepStats* stats) {
  const int64_t n = policy_->num_params();
  const double norm = kernels::grad_norm(grads_.data(), n, pool_);
  stats->grad_norm = norm;
  if (!std::isfinite(loss) || !std::isfinite(norm)) {
    return NonFinite(step_, absl::StrCat("loss ", loss, ", grad norm ", norm,
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
  return absl::OkStatus();
}

absl::StatusOr<StepStats> PolicyTrainer::GrpoStep(const std::vector<TrainGroup>& groups,
                                                  const GrpoOptions& options,
                                                  int64_t policy_version) {
  if (groups.empty()) return absl::InvalidArgumentError("GrpoStep: no groups");
  if (options.kl_coef > 0 && reference_ == nullptr) {
    return absl::InvalidArgumentError("GrpoStep: kl_coef > 0 needs a reference model");
  }
  // Validate everything before any work, so a bad batch changes nothing.
  Seqs seqs;
  std::vector<const TrainSample*> samples;
  for (size_t g = 0; g < groups.size(); ++g) {
    if (groups[g].empty()) {
      return absl::InvalidArgumentError(absl::StrCat("GrpoStep: group ", g, " is empty"));
    }
    for (size_t i = 0; i < groups[g].size(); ++i) {
      const std::string what = absl::StrCat("GrpoStep: group ", g, " sample ", i);
      RETURN_IF_ERROR(CheckSample(groups[g][i], what));
      ASSIGN_OR_RETURN(auto seq, JoinSequence(groups[g][i].prompt, groups[g][i].completion, what));
      seqs.push_back(std::move(seq));
      samples.push_back(&groups[g][i]);
    }
  }
  RETURN_IF_ERROR(policy_->ValidateSequences(seqs));

  std::vector<std::vector<float>> logp, entropy;
  RETURN_IF_ERROR(ForwardAll(seqs, &logp, &entropy));
  // The completion's logprobs start at the row of the last prompt token.
  auto completion_span = [&](const std::vector<float>& row, size_t s) {
    return absl::Span<const float>(row).subspan(samples[s]->prompt.size() - 1,
                                                samples[s]->completion.size());
  };
  for (size_t s = 0; s < seqs.size(); ++s) {
    for (float x : completion_span(logp[s], s)) {
      if (!std::isfinite(x)) return NonFinite(step_, absl::StrCat("learner logprob ", x));
    }
  }
  std::vector<std::vector<float>> ref;
  if (options.kl_coef > 0) {
    ASSIGN_OR_RETURN(ref, CompletionLogprobs(*reference_, samples, micro_batch_size_, pool_));
  }

  std::vector<std::vector<uint8_t>> masks(seqs.size());
  std::vector<GroupInput> inputs(groups.size());
  for (size_t g = 0, s = 0; g < groups.size(); ++g) {
    for (size_t i = 0; i < groups[g].size(); ++i, ++s) {
      masks[s].assign(samples[s]->completion.size(), 1);
      CompletionInput c;
      c.reward = samples[s]->reward;
      c.logp = completion_span(logp[s], s);
      c.logp_old = samples[s]->behaviour_logprobs;
      if (!ref.empty()) c.logp_ref = ref[s];
      c.mask = masks[s];
      inputs[g].push_back(c);
    }
  }
  ASSIGN_OR_RETURN(GrpoResult loss, GrpoLoss(inputs, options));

  StepStats stats;
  stats.loss = loss.loss;
  stats.kl = loss.metrics.mean_kl;
  stats.clip_frac = loss.metrics.clip_frac_low + loss.metrics.clip_frac_high;
  stats.tokens = loss.metrics.num_tokens;
  stats.dropped_groups = loss.metrics.num_dropped_groups;

  // Metrics: entropy over the loss tokens, and the rollout-vs-learner logprob check.
  std::vector<bool> dropped(groups.size(), false);
  for (int g : loss.dropped_groups) dropped[g] = true;
  double entropy_sum = 0, diff_sum = 0;
  int64_t entropy_n = 0;
  for (size_t g = 0, s = 0; g < groups.size(); ++g) {
    for (size_t i = 0; i < groups[g].size(); ++i, ++s) {
      const TrainSample& sample = *samples[s];
      if (!dropped[g]) {
        for (float e : completion_span(entropy[s], s)) entropy_sum += e;
        entropy_n += static_cast<int64_t>(sample.completion.size());
      }
      const bool same_version =
          !sample.versions.empty() && std::all_of(sample.versions.begin(), sample.versions.end(),
                                                  [&](int64_t v) { return v == policy_version; });
      if (!same_version) continue;
      const auto lp = completion_span(logp[s], s);
      for (size_t t = 0; t < lp.size(); ++t) {
        const double d = std::fabs(static_cast<double>(lp[t]) - sample.behaviour_logprobs[t]);
        stats.logprob_diff_max = std::max(stats.logprob_diff_max, d);
        diff_sum += d;
        ++stats.logprob_tokens_checked;
      }
    }
  }
  if (entropy_n > 0) stats.entropy = entropy_sum / static_cast<double>(entropy_n);
  if (stats.logprob_tokens_checked > 0) {
    stats.logprob_diff_mean = diff_sum / static_cast<double>(stats.logprob_tokens_checked);
  }
  if (loss.metrics.num_tokens == 0) {
    stats.skipped = true;
    return stats;
  }

  std::vector<std::vector<float>> dlogp(seqs.size());
  for (size_t s = 0; s < seqs.size(); ++s) {
    dlogp[s].assign(seqs[s].size() - 1, 0.0f);
    std::copy(loss.dlogp[s].begin(), loss.dlogp[s].end(),
              dlogp[s].begin() + static_cast<int64_t>(samples[s]->prompt.size() - 1));
  }
  RETURN_IF_ERROR(BackwardAll(seqs, dlogp));
  RETURN_IF_ERROR(ApplyGradients(stats.loss, &stats));
  return stats;
}

absl::StatusOr<StepStats> PolicyTrainer::SftStep(const std::vector<SftExample>& batch) {
  if (batch.empty()) return absl::InvalidArgumentError("SftStep: empty batch");
  Seqs seqs;
  int64_t n_targets = 0;
  for (size_t s = 0; s < batch.size(); ++s) {
    ASSIGN_OR_RETURN(auto seq, JoinSequence(batch[s].prompt, batch[s].target,
                                            absl::StrCat("SftStep: example ", s)));
    seqs.push_back(std::move(seq));
    n_targets += static_cast<int64_t>(batch[s].target.size());
  }
  RETURN_IF_ERROR(policy_->ValidateSequences(seqs));

  std::vector<std::vector<float>> logp, entropy;
  RETURN_IF_ERROR(ForwardAll(seqs, &logp, &entropy));
  // Gather the target rows into flat arrays for the cross-entropy kernel.
  std::vector<float> flat_lp, flat_w, flat_dlp(n_targets, 0.0f);
  flat_lp.reserve(n_targets);
  double entropy_sum = 0;
  for (size_t s = 0; s < seqs.size(); ++s) {
    const size_t r0 = batch[s].prompt.size() - 1;
    for (size_t t = 0; t < batch[s].target.size(); ++t) {
      flat_lp.push_back(logp[s][r0 + t]);
      entropy_sum += entropy[s][r0 + t];
    }
  }
  flat_w.assign(n_targets, static_cast<float>(1.0 / static_cast<double>(n_targets)));
  StepStats stats;
  stats.loss = kernels::cross_entropy_forward(flat_lp.data(), flat_w.data(), n_targets);
  stats.entropy = entropy_sum / static_cast<double>(n_targets);
  stats.tokens = n_targets;
  if (!std::isfinite(stats.loss)) return NonFinite(step_, absl::StrCat("loss ", stats.loss));
  kernels::cross_entropy_backward(flat_dlp.data(), flat_w.data(), 1.0f, n_targets);

  std::vector<std::vector<float>> dlogp(seqs.size());
  for (size_t s = 0, i = 0; s < seqs.size(); ++s) {
    dlogp[s].assign(seqs[s].size() - 1, 0.0f);
    const size_t r0 = batch[s].prompt.size() - 1;
    for (size_t t = 0; t < batch[s].target.size(); ++t) dlogp[s][r0 + t] = flat_dlp[i++];
  }
  RETURN_IF_ERROR(BackwardAll(seqs, dlogp));
  RETURN_IF_ERROR(ApplyGradients(stats.loss, &stats));
  return stats;
}

absl::StatusOr<std::vector<std::vector<float>>> CompletionLogprobs(
    const model::Transformer& model, const std::vector<const TrainSample*>& samples,
    int64_t micro_batch_size, ThreadPool* pool) {
  if (micro_batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("CompletionLogprobs: micro_batch_size ", micro_batch_size, " < 1"));
  }
  Seqs seqs;
  for (size_t s = 0; s < samples.size(); ++s) {
    ASSIGN_OR_RETURN(auto seq, JoinSequence(samples[s]->prompt, samples[s]->completion,
                                            absl::StrCat("CompletionLogprobs: sample ", s)));
    seqs.push_back(std::move(seq));
  }
  RETURN_IF_ERROR(model.ValidateSequences(seqs));
  std::vector<std::vector<float>> out;
  out.reserve(samples.size());
  for (int64_t k = 0; k < NumMicroBatches(seqs.size(), micro_batch_size); ++k) {
    const auto range = MicroBatch(seqs.size(), micro_batch_size, k);
    model::ForwardResult res;
    RETURN_IF_ERROR(model.Forward(Slice(seqs, range), {}, &res, nullptr, pool));
    for (size_t j = 0; j < res.logprobs.size(); ++j) {
      const TrainSample& s = *samples[range.first + j];
      const auto first = res.logprobs[j].begin() + static_cast<int64_t>(s.prompt.size() - 1);
      out.emplace_back(first, first + static_cast<int64_t>(s.completion.size()));
    }
  }
  return out;
}

}  // namespace flywheel::learner
