// One training job from start to finish on its own thread: load (or resume from the latest
// checkpoint), push the policy to the rollout servers, run the algorithm's steps (grpo_loop.cc,
// sft_loop.cc), evaluate and checkpoint on schedule, and keep the job record (JobStore), the
// watchers (JobEvents) and the Prometheus gauges up to date.
//
// GRPO is asynchronous with bounded staleness: a producer thread samples and scores the batch of
// step s as soon as the weights of step s - 1 - max_async_steps are on the servers, while the
// learner updates on earlier batches. π_old is the rollout server's logprob of each token.
//
// Thread safety: Cancel, Stop, finished and Snapshot may be called from any thread.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "common/base/thread_pool.h"
#include "common/model/transformer.h"
#include "common/tokenizer/tokenizer.h"
#include "flywheel/v1/learner.pb.h"
#include "learner/job_data.h"
#include "learner/job_events.h"
#include "learner/job_store.h"
#include "learner/learner_metrics.h"
#include "learner/policy_trainer.h"
#include "learner/reward_pool.h"
#include "learner/rollout_pool.h"

namespace flywheel::learner {

struct RunnerEnv {
  JobStore* store = nullptr;
  JobEvents* events = nullptr;
  LearnerMetrics* metrics = nullptr;  // may be null
  ThreadPool* pool = nullptr;         // model compute
  std::string state_dir;              // default checkpoints: <state_dir>/jobs/<id>/checkpoints
  std::string server_token;           // bearer token for PushWeights ("" = none)
};

class JobRunner {
 public:
  // `job` is in the store already (QUEUED, or RUNNING when the daemon resumes it).
  JobRunner(v1::Job job, RunnerEnv env);
  ~JobRunner();  // Stop() and join.
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  void Start();
  // Ends the job as CANCELLED (the user asked).
  void Cancel();
  // Ends the thread but leaves the record RUNNING, to be resumed (the daemon is stopping).
  void Stop();
  bool finished() const { return finished_.load(); }
  v1::Job Snapshot() const;

 private:
  void Run();
  absl::Status Setup();
  absl::Status RunGrpo();  // grpo_loop.cc
  absl::Status RunSft();   // sft_loop.cc

  // Pushes the current policy as the version of `step` to every rollout server; seconds taken.
  absl::StatusOr<double> PushPolicy(int64_t step);
  // Greedy accuracy on the eval set (after a push); records it.
  absl::Status Evaluate(int64_t step, v1::StepMetrics* metrics);
  // What follows every step: eval when due (pushing first unless `pushed`), the metrics record,
  // gauges and watchers, and a checkpoint when due. data_cursor: rows consumed after the step.
  absl::Status FinishStep(int64_t step, int64_t data_cursor, bool pushed, v1::StepMetrics* m,
                          bool last);
  // Writes a checkpoint of the state after `step`.
  absl::Status Checkpoint(int64_t step, int64_t data_cursor);
  // Applies `edit` to the record, persists it and tells the watchers.
  void Update(const std::function<void(v1::Job*)>& edit, const std::string& message,
              const v1::StepMetrics* metrics = nullptr);
  void Event(const std::string& message) { Update([](v1::Job*) {}, message); }
  bool aborted() const { return abort_.load(); }

  RunnerEnv env_;
  const v1::JobSpec spec_;  // with defaults applied
  const std::string id_;
  std::string checkpoint_root_;

  mutable std::mutex mu_;
  v1::Job job_;

  std::thread thread_;
  std::atomic<bool> abort_{false};
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> finished_{false};

  // Set up by Setup().
  std::unique_ptr<tokenizer::Tokenizer> tokenizer_;
  std::unique_ptr<JobData> data_, eval_data_;
  std::unique_ptr<PolicyTrainer> trainer_;
  std::unique_ptr<RolloutPool> rollouts_;
  std::unique_ptr<RewardPool> rewards_;
  int64_t step_ = 0;          // steps completed
  int64_t retries_seen_ = 0;  // StepMetrics::retries already counted in Prometheus
  int64_t version_base_ = 0;  // server weight version of step s is version_base_ + s
  std::optional<double> eval_accuracy_, initial_eval_accuracy_;
};

}  // namespace flywheel::learner
