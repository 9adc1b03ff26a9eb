// Test fixture: a real local cluster (rollout servers, a reward server, the learner) on loopback,
// a tiny model with the byte-level tokenizer, and the arithmetic task, plus JobService helpers.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "flywheel/v1/learner.grpc.pb.h"
#include "tests/model/test_util.h"
#include "tests/util/daemon_process.h"

namespace flywheel::testing {

class LearnerCluster {
 public:
  // Writes the model and data under a temp dir and starts `rollout_servers` rollout servers, one
  // reward server and a learner whose state lives in state_dir() (kept across RestartLearner),
  // started with learner_args besides the usual flags.
  explicit LearnerCluster(int rollout_servers = 1, std::vector<std::string> learner_args = {});

  const std::string& dir() const { return tmp_.path(); }
  std::string model_dir() const { return tmp_.File("model"); }
  std::string train_path() const { return tmp_.File("train.jsonl"); }
  std::string eval_path() const { return tmp_.File("eval.jsonl"); }
  // The arithmetic prompts with a "contains a digit" regex task (see the constructor).
  std::string digits_path() const { return tmp_.File("digits.jsonl"); }
  std::string state_dir() const { return tmp_.File("state"); }

  // A small GRPO spec against this cluster: the digits task, 6 steps of 4 prompts x 4, eval on
  // the arithmetic eval split.
  v1::JobSpec GrpoSpec() const;

  absl::StatusOr<v1::Job> Submit(const v1::JobSpec& spec);
  absl::StatusOr<v1::Job> Get(const std::string& id);
  // Polls until the job ends (or timeout_s passes: DeadlineExceeded).
  absl::StatusOr<v1::Job> Wait(const std::string& id, double timeout_s = 300);
  // Polls until the job has completed at least `step` steps.
  absl::Status WaitForStep(const std::string& id, int64_t step, double timeout_s = 300);
  // Every step's metrics of the job, from a WatchJob stream read to the job's end; the events'
  // messages go to *messages when it is not null.
  absl::StatusOr<std::vector<v1::StepMetrics>> WatchToEnd(
      const std::string& id, std::vector<std::string>* messages = nullptr);
  // Starts a further rollout server (loopback, port 0, one thread) with `args`, e.g.
  // {"--model", "a=DIR", "--model", "b=DIR"} or {"--model", model_dir(), "--register", ...}.
  absl::StatusOr<std::unique_ptr<DaemonProcess>> StartRolloutServer(
      const std::vector<std::string>& args);

  // SIGKILLs the learner (if running) and starts a new one on the same state dir.
  void KillLearner();
  void StartLearner();

  DaemonProcess* learner() { return learner_.get(); }
  DaemonProcess* rollout(int i) { return rollouts_[i].get(); }
  DaemonProcess* reward() { return reward_.get(); }
  void KillRollout(int i);

 private:
  TempDir tmp_;
  std::vector<std::unique_ptr<DaemonProcess>> rollouts_;
  std::unique_ptr<DaemonProcess> reward_, learner_;
  std::vector<std::string> learner_args_;
  std::unique_ptr<v1::JobService::Stub> stub_;
};

// The weights of a checkpoint (or model) directory, for bitwise comparisons.
std::vector<float> LoadParams(const std::string& dir);

}  // namespace flywheel::testing
