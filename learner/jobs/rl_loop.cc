// JobRunner::RunRl: the sample-and-update loop of GRPO and on-policy distillation (see
// job_runner.h). The algorithm (learner/algorithms/rl_algorithm.h) decides what each batch needs
// and how it updates; everything else is shared: the asynchronous producer, weight pushes (in
// flight, or between batches in the exact mode), logprob checks against snapshots of older
// policies, metrics, evals and checkpoints.
#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/base/mix.h"
#include "common/base/status_macros.h"
#include "learner/algorithms/rl_algorithm.h"
#include "learner/jobs/batch_producer.h"
#include "learner/jobs/job_runner.h"
#include "learner/jobs/job_spec.h"
#include "learner/jobs/policy_snapshots.h"
#include "learner/jobs/sample_dump.h"
#include "learner/jobs/step_metrics.h"

namespace flywheel::learner {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

absl::StatusOr<std::unique_ptr<RlAlgorithm>> MakeAlgorithm(
    const v1::JobSpec& spec, std::shared_ptr<const model::Transformer> reference) {
  if (spec.algorithm() == kOpd) {
    ASSIGN_OR_RETURN(OpdOptions options, ToOpdOptions(spec));
    return MakeOpd(options);
  }
  ASSIGN_OR_RETURN(GrpoOptions options, ToGrpoOptions(spec));
  return MakeGrpo(options, std::move(reference));
}

// Wraps an error of step s so the job's error names the step.
absl::Status AtStep(int64_t s, const absl::Status& st) {
  return absl::Status(st.code(), absl::StrCat("step ", s, ": ", st.message()));
}

}  // namespace

absl::Status JobRunner::RunRl() {
  const int64_t P = spec_.prompts_per_step();
  const int64_t A = spec_.max_async_steps();
  const int64_t steps = spec_.steps();
  // Exact: the batch of step s is sampled with the policy of step max(0, s - 1 - A) alone.
  const bool exact = A > 0 && spec_.async_mode() == kAsyncExact;
  ASSIGN_OR_RETURN(std::unique_ptr<RlAlgorithm> algorithm, MakeAlgorithm(spec_, reference_));

  // The policies that sample the batches still ahead: a resumed exact job's checkpoint has them.
  snapshots_ = std::make_unique<PolicySnapshots>(A);
  PolicySnapshots& snapshots = *snapshots_;
  int64_t first = step_;  // the step whose policy the servers get first
  if (exact && step_ > 0) {
    for (auto& [v, params] : restored_policies_) {
      RETURN_IF_ERROR(snapshots.Keep(v, {trainer_->policy().config(), std::move(params)}));
    }
    first = std::max<int64_t>(0, step_ - A);
    for (int64_t v = first; v < step_; ++v) {
      if (snapshots.Get(v) == nullptr) {
        Event(absl::StrCat("the checkpoint lacks the policy of step ", v,
                           ": the next batches are sampled with the current one (this resumed "
                           "run will not match an uninterrupted one bit for bit)"));
        first = step_;
        break;
      }
    }
  }
  restored_policies_.clear();
  RETURN_IF_ERROR(snapshots.Keep(step_, trainer_->policy()));
  auto policy_of = [&](int64_t v) -> const model::Transformer& {
    return v == step_ ? trainer_->policy() : *snapshots.Get(v);
  };
  // The policy of step s is on the servers as version version_base_ + s.
  RETURN_IF_ERROR(PushWeights(policy_of(first), first).status());
  if (step_ == 0 && !initial_eval_accuracy_) RETURN_IF_ERROR(Evaluate(0, nullptr));

  BatchOptions batch_options;
  batch_options.group_size = spec_.grpo().group_size();
  batch_options.sampling = spec_.sampling();
  // Rewards are fetched when the algorithm learns from them, and for the pass-rate metrics
  // whenever the job has reward servers and its rows carry tasks.
  batch_options.rewards =
      algorithm->needs_rewards() || (rewards_ != nullptr && !data_->row(0).row.task_json.empty());
  batch_options.teacher = algorithm->needs_teacher();
  BatchSources sources{rollouts_.get(), rewards_.get(),
                       SelfTeacher(spec_) ? rollouts_.get() : teachers_.get(), tokenizer_.get()};
  BatchProducer producer(step_ + 1, steps, A, first,
                         [&](int64_t s, const std::atomic<bool>* cancel) {
                           std::vector<const JobRow*> rows;
                           std::vector<uint64_t> seeds;
                           for (int64_t k = (s - 1) * P; k < s * P; ++k) {
                             rows.push_back(&data_->At(k));
                             seeds.push_back(MixSeed(spec_.seed(), static_cast<uint64_t>(k)));
                           }
                           return SampleBatch(rows, seeds, batch_options, sources, cancel);
                         });

  // A resumed exact job replays the pushes it had made before its checkpoint: the policy of step v
  // goes out once the last batch of step v - 1's policy is produced.
  for (int64_t v = first + 1; v <= step_; ++v) {
    if (!producer.WaitProduced(v + A, &abort_).ok()) return absl::OkStatus();  // stopping
    RETURN_IF_ERROR(PushWeights(policy_of(v), v).status());
    producer.Pushed(v);
  }

  for (int64_t s = step_ + 1; s <= steps; ++s) {
    const auto t_wait = Clock::now();
    absl::StatusOr<Batch> batch = producer.Take(s, &abort_);
    if (aborted()) break;
    if (!batch.ok()) return batch.status();
    if (!spec_.sample_dump_dir().empty()) {
      RETURN_IF_ERROR(WriteSampleDump(spec_.sample_dump_dir(), s, *batch));
    }
    const auto t_update = Clock::now();
    const int64_t policy_version = version_base_ + s - 1;
    auto stats = algorithm->Step(*trainer_, batch->groups, policy_version);
    if (!stats.ok()) return AtStep(s, stats.status());
    RETURN_IF_ERROR(snapshots.CheckStale(batch->groups, version_base_, policy_version,
                                         spec_.micro_batch_size(), env_.pool, &stats->check));
    // Exact: the batches the previous policy samples must all be done before it is replaced.
    const auto t_hold = Clock::now();
    if (exact && !producer.WaitProduced(s + A, &abort_).ok()) break;
    const auto t_push = Clock::now();
    RETURN_IF_ERROR(PushPolicy(s).status());
    step_ = s;
    producer.Pushed(s);
    RETURN_IF_ERROR(snapshots.Keep(s, trainer_->policy()));
    const auto t_end = Clock::now();

    StepReport report;
    report.step = s;
    report.stats = &*stats;
    report.batch = &*batch;
    report.staleness = BatchStaleness(batch->groups, policy_version);
    report.wait_seconds = Seconds(t_wait, t_update) + Seconds(t_hold, t_push);
    report.update_seconds = Seconds(t_update, t_hold);
    report.push_seconds = Seconds(t_push, t_end);
    report.step_seconds = Seconds(t_wait, t_end);
    report.trained_tokens = batch->completion_tokens;
    report.groups = static_cast<int32_t>(batch->groups.size());
    report.retries = rollouts_->retries() + (rewards_ ? rewards_->retries() : 0) +
                     (teachers_ ? teachers_->retries() : 0);
    report.rollout_servers = rollouts_->serving();
    v1::StepMetrics m = ToStepMetrics(report);
    RETURN_IF_ERROR(FinishStep(s, s * P, /*pushed=*/true, &m, s == steps));
  }
  return absl::OkStatus();
}

}  // namespace flywheel::learner
