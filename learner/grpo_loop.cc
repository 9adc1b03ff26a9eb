// JobRunner::RunGrpo: the asynchronous GRPO loop (see job_runner.h).
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "learner/grpo_loss.h"
#include "learner/job_runner.h"
#include "learner/rollouts.h"

namespace flywheel::learner {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

struct Batch {
  std::vector<TrainGroup> groups;
  double reward_mean = 0, reward_std = 0, pass_rate = 0;
  int64_t completion_tokens = 0;
  int reward_errors = 0;
};

Batch ToBatch(std::vector<ScoredPrompt> scored) {
  Batch b;
  double sum = 0, sum_sq = 0;
  int64_t n = 0, correct = 0;
  for (auto& p : scored) {
    TrainGroup g;
    for (auto& c : p.completions) {
      TrainSample s;
      s.prompt = p.prompt_ids;
      s.completion.assign(c.completion.token_ids().begin(), c.completion.token_ids().end());
      s.behaviour_logprobs.assign(c.completion.logprobs().begin(), c.completion.logprobs().end());
      s.versions.assign(c.completion.versions().begin(), c.completion.versions().end());
      s.reward = c.reward;
      b.completion_tokens += static_cast<int64_t>(s.completion.size());
      sum += c.reward;
      sum_sq += c.reward * c.reward;
      correct += c.correct ? 1 : 0;
      b.reward_errors += c.reward_error ? 1 : 0;
      ++n;
      g.push_back(std::move(s));
    }
    b.groups.push_back(std::move(g));
  }
  if (n > 0) {
    b.reward_mean = sum / n;
    b.reward_std = std::sqrt(std::max(0.0, sum_sq / n - b.reward_mean * b.reward_mean));
    b.pass_rate = static_cast<double>(correct) / n;
  }
  return b;
}

GrpoOptions ToGrpoOptions(const v1::JobSpec& spec) {
  const auto& g = spec.grpo();
  GrpoOptions o;
  o.advantage.normalize_by_std = g.advantage_norm() != "mean";
  o.clip_eps_low = g.clip_eps_low();
  o.clip_eps_high = g.clip_eps_high();
  o.kl_coef = g.kl_coef();
  o.aggregation = g.loss_aggregation() == "seq-mean-token-mean" ? LossAggregation::kSeqMeanTokenMean
                  : g.loss_aggregation() == "constant"          ? LossAggregation::kConstant
                                                                : LossAggregation::kTokenMean;
  o.constant_normalizer = static_cast<double>(spec.prompts_per_step()) * g.group_size() *
                          std::max(1, spec.sampling().max_tokens());
  o.drop_equal_reward_groups = g.drop_equal_reward_groups();
  o.tis_cap = g.tis_cap();
  return o;
}

}  // namespace

absl::Status JobRunner::RunGrpo() {
  const int64_t P = spec_.prompts_per_step();
  const int G = spec_.grpo().group_size();
  const int64_t A = spec_.max_async_steps();
  const int64_t steps = spec_.steps();
  const GrpoOptions options = ToGrpoOptions(spec_);

  // The policy of step s is on the servers as version_base_ + s. Snapshots of the last A + 1
  // policies let the learner recompute stale samples' logprobs with the weights that drew them.
  ASSIGN_OR_RETURN(double first_push, PushPolicy(step_));
  (void)first_push;
  std::map<int64_t, std::shared_ptr<const model::Transformer>> snapshots;
  auto snapshot = [&](int64_t step) -> absl::Status {
    if (A == 0) return absl::OkStatus();
    const model::Transformer& p = trainer_->policy();
    model::ModelWeights w{p.config(), std::vector<float>(p.params(), p.params() + p.num_params())};
    ASSIGN_OR_RETURN(auto t, model::Transformer::Create(std::move(w)));
    snapshots[step] = std::move(t);
    while (!snapshots.empty() && snapshots.begin()->first < step - A) snapshots.erase(snapshots.begin());
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(snapshot(step_));
  if (step_ == 0 && !initial_eval_accuracy_) RETURN_IF_ERROR(Evaluate(0, nullptr));

  // Producer: samples and scores batch s once the weights of step s - 1 - A are pushed.
  std::mutex mu;
  std::condition_variable cv;
  int64_t pushed_step = step_;
  bool stop = false;
  std::map<int64_t, absl::StatusOr<Batch>> ready;
  std::atomic<bool> producer_abort{false};
  const int64_t first = step_ + 1;
  std::thread producer([&] {
    for (int64_t s = first; s <= steps; ++s) {
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return stop || pushed_step >= s - 1 - A; });
        if (stop) return;
      }
      std::vector<const JobRow*> rows;
      std::vector<uint64_t> seeds;
      for (int64_t k = (s - 1) * P; k < s * P; ++k) {
        rows.push_back(&data_->At(k));
        seeds.push_back(MixSeed(spec_.seed(), static_cast<uint64_t>(k)));
      }
      auto scored = SampleAndScore(rows, G, spec_.sampling(), seeds, rollouts_.get(),
                                   rewards_.get(), *tokenizer_, &producer_abort);
      absl::StatusOr<Batch> batch =
          scored.ok() ? absl::StatusOr<Batch>(ToBatch(std::move(*scored))) : scored.status();
      const bool failed = !batch.ok();
      {
        std::lock_guard<std::mutex> lock(mu);
        ready.emplace(s, std::move(batch));
      }
      cv.notify_all();
      if (failed) return;
    }
  });
  auto stop_producer = [&] {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop = true;
    }
    producer_abort.store(true);
    cv.notify_all();
    producer.join();
  };

  absl::Status result;
  for (int64_t s = first; s <= steps; ++s) {
    const auto t_wait = Clock::now();
    absl::StatusOr<Batch> batch;
    {
      std::unique_lock<std::mutex> lock(mu);
      while (!ready.count(s) && !aborted()) cv.wait_for(lock, std::chrono::milliseconds(100));
      if (aborted()) break;
      batch = std::move(ready[s]);
      ready.erase(s);
    }
    if (!batch.ok()) {
      result = batch.status();
      break;
    }
    const auto t_update = Clock::now();
    const int64_t policy_version = version_base_ + s - 1;
    auto stats = trainer_->GrpoStep(batch->groups, options, policy_version);
    if (!stats.ok()) {
      result = absl::Status(stats.status().code(),
                            absl::StrCat("step ", s, ": ", stats.status().message()));
      break;
    }
    // Stale samples drawn by one earlier policy: recompute with that policy's snapshot.
    double diff_max = stats->logprob_diff_max;
    double diff_sum = stats->logprob_diff_mean * stats->logprob_tokens_checked;
    int64_t checked = stats->logprob_tokens_checked;
    int64_t staleness_max = 0;
    double staleness_sum = 0;
    int64_t samples = 0;
    std::map<int64_t, std::vector<const TrainSample*>> by_version;
    for (const auto& g : batch->groups) {
      for (const auto& smp : g) {
        if (smp.versions.empty()) continue;
        const auto [lo, hi] = std::minmax_element(smp.versions.begin(), smp.versions.end());
        const int64_t stale = policy_version - *lo;
        staleness_max = std::max(staleness_max, stale);
        staleness_sum += static_cast<double>(stale);
        ++samples;
        if (*lo == *hi && *lo != policy_version) by_version[*lo - version_base_].push_back(&smp);
      }
    }
    absl::Status checked_ok = absl::OkStatus();
    for (const auto& [step, group] : by_version) {
      auto it = snapshots.find(step);
      if (it == snapshots.end()) continue;
      auto lps = CompletionLogprobs(*it->second, group, spec_.micro_batch_size(), env_.pool);
      if (!lps.ok()) {
        checked_ok = lps.status();
        break;
      }
      for (size_t i = 0; i < group.size(); ++i) {
        for (size_t t = 0; t < (*lps)[i].size(); ++t) {
          const double d = std::fabs(static_cast<double>((*lps)[i][t]) -
                                     static_cast<double>(group[i]->behaviour_logprobs[t]));
          diff_max = std::max(diff_max, d);
          diff_sum += d;
          ++checked;
        }
      }
    }
    if (!checked_ok.ok()) {
      result = checked_ok;
      break;
    }
    const auto t_push = Clock::now();
    auto push = PushPolicy(s);
    if (!push.ok()) {
      result = push.status();
      break;
    }
    step_ = s;
    {
      std::lock_guard<std::mutex> lock(mu);
      pushed_step = s;
    }
    cv.notify_all();
    if (absl::Status st = snapshot(s); !st.ok()) {
      result = st;
      break;
    }
    const auto t_end = Clock::now();

    v1::StepMetrics m;
    m.set_step(s);
    m.set_reward_mean(batch->reward_mean);
    m.set_reward_std(batch->reward_std);
    m.set_pass_rate(batch->pass_rate);
    m.set_loss(stats->loss);
    m.set_kl(stats->kl);
    m.set_entropy(stats->entropy);
    m.set_clip_frac(stats->clip_frac);
    m.set_grad_norm(stats->grad_norm);
    m.set_lr(stats->lr);
    m.set_logprob_diff_max(diff_max);
    m.set_logprob_diff_mean(checked > 0 ? diff_sum / checked : 0.0);
    m.set_logprob_tokens_checked(checked);
    m.set_staleness_max(staleness_max);
    m.set_staleness_mean(samples > 0 ? staleness_sum / samples : 0.0);
    m.set_wait_seconds(Seconds(t_wait, t_update));
    m.set_update_seconds(Seconds(t_update, t_push));
    m.set_push_seconds(Seconds(t_push, t_end));
    m.set_step_seconds(Seconds(t_wait, t_end));
    m.set_completion_tokens(batch->completion_tokens);
    m.set_tokens_per_second(batch->completion_tokens / std::max(1e-9, m.step_seconds()));
    m.set_dropped_groups(stats->dropped_groups);
    m.set_groups(static_cast<int32_t>(batch->groups.size()));
    m.set_reward_errors(batch->reward_errors);
    m.set_retries(rollouts_->retries() + rewards_->retries());
    if (absl::Status st = FinishStep(s, s * P, /*pushed=*/true, &m, s == steps); !st.ok()) {
      result = st;
      break;
    }
  }
  stop_producer();
  return result;
}

}  // namespace flywheel::learner
