// One training job from start to finish on its own thread: load (or resume from the latest
// checkpoint), push the policy to the rollout servers, run the algorithm's steps (rl_loop.cc for
// GRPO and distillation, selfplay_loop.cc for self-play, sft_loop.cc for SFT), evaluate and
// checkpoint on schedule, and report
// every change of the job through the JobBoard (record, database, gauges, watchers).
//
// RL jobs are asynchronous with bounded staleness: a producer thread (BatchProducer) samples and
// scores the batch of step s as soon as the weights of step s - 1 - max_async_steps are on the
// servers, while the learner updates on earlier batches. π_old is the rollout server's logprob of
// each token. In the exact mode (async_mode "exact") the weights of step v are pushed only once
// the last batch of step v - 1's weights is produced, so each batch has exactly one policy and the
// run is reproducible; its checkpoints keep the last max_async_steps policies, which a resumed run
// pushes again in order to resample the batches that were in flight, bit for bit.
//
// Thread safety: Start, Cancel and Stop may be called from any thread; on_finished is called
// once, on the job's thread, as its last act (do not destroy the runner from inside it).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "common/base/thread_pool.h"
#include "common/rpc/tls.h"
#include "common/tokenizer/tokenizer.h"
#include "flywheel/v1/learner.pb.h"
#include "learner/jobs/job_board.h"
#include "learner/jobs/job_data.h"
#include "learner/jobs/policy_snapshots.h"
#include "learner/servers/reward_pool.h"
#include "learner/servers/rollout_pool.h"
#include "learner/training/policy_trainer.h"

namespace flywheel::learner {

struct RunnerEnv {
  JobBoard* board = nullptr;
  // Model compute. Jobs running at once share it: ThreadPool::Run serialises callers, and the
  // kernels' bits do not depend on how calls interleave.
  ThreadPool* pool = nullptr;
  std::string state_dir;      // default checkpoints: <state_dir>/jobs/<id>/checkpoints
  std::string server_token;   // bearer token for PushWeights and CommitWeights ("" = none)
  rpc::ClientTls server_tls;  // TLS of the connections to rollout, reward and teacher servers
  // Rollout servers started with --register (jobs listing "registered"); may be null.
  const FleetRegistry* registry = nullptr;
};

class JobRunner {
 public:
  using FinishedFn = std::function<void(const std::string& id)>;

  // `job` is on the board already (QUEUED, or RUNNING when the daemon resumes it).
  JobRunner(v1::Job job, RunnerEnv env, FinishedFn on_finished);
  ~JobRunner();  // Stop() and join.
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  void Start();
  // Ends the job as CANCELLED (the user asked).
  void Cancel();
  // Ends the thread but leaves the record RUNNING, to be resumed (the daemon is stopping).
  void Stop();
  const std::string& id() const { return id_; }

 private:
  void Run();
  absl::Status Setup();
  absl::Status RunRl();        // rl_loop.cc
  absl::Status RunSft();       // sft_loop.cc
  absl::Status RunSelfPlay();  // selfplay_loop.cc

  // Pushes the current policy as the version of `step` to every rollout server; seconds taken.
  absl::StatusOr<double> PushPolicy(int64_t step);
  // Pushes `policy` (the current one or a snapshot) as the version of `step`.
  absl::StatusOr<double> PushWeights(const model::Transformer& policy, int64_t step);
  // Greedy accuracy on the eval set (after a push); records it.
  absl::Status Evaluate(int64_t step, v1::StepMetrics* metrics);
  // What follows every step: eval when due (pushing first unless `pushed`), the metrics record,
  // gauges and watchers, and a checkpoint when due. data_cursor: rows consumed after the step.
  absl::Status FinishStep(int64_t step, int64_t data_cursor, bool pushed, v1::StepMetrics* m,
                          bool last);
  // Writes a checkpoint of the state after `step` (with the earlier policies of an exact
  // asynchronous job). A periodic checkpoint that fails is reported and the job goes on (the last
  // good checkpoint stays); a failed final one (`last`) fails the job.
  absl::Status Checkpoint(int64_t step, int64_t data_cursor, bool last);
  // Applies `edit` to the record through the board (persisted, published).
  void Update(const std::function<void(v1::Job*)>& edit, const std::string& message,
              const v1::StepMetrics* metrics = nullptr);
  void Event(const std::string& message) {
    Update([](v1::Job*) {}, message);
  }
  bool aborted() const { return abort_.load(); }
  std::string CheckpointOfRecord();

  RunnerEnv env_;
  const v1::JobSpec spec_;  // with defaults applied
  const std::string id_;
  const bool resumed_;  // the record was RUNNING when the runner was made
  const FinishedFn on_finished_;
  std::string checkpoint_root_;

  std::thread thread_;
  std::atomic<bool> abort_{false};
  std::atomic<bool> cancelled_{false};

  // Set up by Setup().
  std::unique_ptr<tokenizer::Tokenizer> tokenizer_;
  std::unique_ptr<JobData> data_, eval_data_;
  std::unique_ptr<PolicyTrainer> trainer_;
  std::shared_ptr<const model::Transformer> reference_;
  std::unique_ptr<RolloutPool> rollouts_;
  std::unique_ptr<RewardPool> rewards_;
  std::unique_ptr<RolloutPool> teachers_;  // distillation from teacher servers
  // RL jobs: copies of the recent policies (logprob checks of stale samples; an exact job's
  // checkpoints keep them). Set by RunRl.
  std::unique_ptr<PolicySnapshots> snapshots_;
  // Earlier policies from the checkpoint resumed from (step -> parameters); RunRl takes them.
  std::map<int64_t, std::vector<float>> restored_policies_;
  int64_t step_ = 0;          // steps completed
  int64_t retries_seen_ = 0;  // StepMetrics::retries already counted in Prometheus
  int64_t version_base_ = 0;  // server weight version of step s is version_base_ + s
  std::optional<double> eval_accuracy_, initial_eval_accuracy_;
  std::set<int64_t> solved_;  // self-play: dataset lines of the targets solved so far
};

}  // namespace flywheel::learner
