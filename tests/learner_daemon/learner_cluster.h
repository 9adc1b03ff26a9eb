// Test fixture: a real local cluster (rollout servers, a reward server, the learner) on loopback,
// a tiny model with the byte-level tokenizer, and the arithmetic task, plus JobService helpers.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/rpc/tls.h"
#include "flywheel/v1/learner.grpc.pb.h"
#include "tests/model/test_util.h"
#include "tests/util/daemon_process.h"

namespace flywheel::testing {

struct LearnerClusterOptions {
  int rollout_servers = 1;
  int reward_servers = 1;
  std::vector<std::string> server_args{};   // extra flags of every rollout and reward server
  std::vector<std::string> learner_args{};  // extra flags of the learner
  rpc::ClientTls client_tls{};              // the fixture's own channel to the learner
  std::string token{};                      // bearer token on the fixture's calls ("" = none)
  bool learner_log_file = false;            // the learner's log goes to learner_log() (appended)
};

class LearnerCluster {
 public:
  // Writes the model and data under a temp dir and starts `rollout_servers` rollout servers, one
  // reward server and a learner whose state lives in state_dir() (kept across RestartLearner),
  // started with learner_args besides the usual flags.
  explicit LearnerCluster(int rollout_servers = 1, std::vector<std::string> learner_args = {});
  explicit LearnerCluster(LearnerClusterOptions options);

  const std::string& dir() const { return tmp_.path(); }
  std::string model_dir() const { return tmp_.File("model"); }
  std::string train_path() const { return tmp_.File("train.jsonl"); }
  std::string eval_path() const { return tmp_.File("eval.jsonl"); }
  // The arithmetic prompts with a "contains a digit" regex task (see the constructor).
  std::string digits_path() const { return tmp_.File("digits.jsonl"); }
  std::string state_dir() const { return tmp_.File("state"); }
  std::string learner_log() const { return tmp_.File("learner.log"); }

  // A small GRPO spec against this cluster: the digits task, 6 steps of 4 prompts x 4, eval on
  // the arithmetic eval split.
  v1::JobSpec GrpoSpec() const;

  absl::StatusOr<v1::Job> Submit(const v1::JobSpec& spec);
  absl::StatusOr<v1::Job> Get(const std::string& id);
  // Polls until the job ends (or timeout_s passes: DeadlineExceeded).
  absl::StatusOr<v1::Job> Wait(const std::string& id, double timeout_s = 300);
  // Submits `spec` and waits for the job to end: its final record.
  absl::StatusOr<v1::Job> Run(const v1::JobSpec& spec, double timeout_s = 300);
  // The same, and an error (with the job's state and error) unless it SUCCEEDED.
  absl::StatusOr<v1::Job> RunToSuccess(const v1::JobSpec& spec, double timeout_s = 300);
  // Polls until the job has completed at least `step` steps.
  absl::Status WaitForStep(const std::string& id, int64_t step, double timeout_s = 300);
  // Every event of the job, from a WatchJob stream read to the job's end.
  absl::StatusOr<std::vector<v1::JobEvent>> WatchEvents(const std::string& id);
  // Every step's metrics of the job, from a WatchJob stream read to the job's end; the events'
  // messages go to *messages when it is not null.
  absl::StatusOr<std::vector<v1::StepMetrics>> WatchToEnd(
      const std::string& id, std::vector<std::string>* messages = nullptr);
  // Starts a further rollout server (loopback, port 0, one thread, the options' server_args)
  // with `args`, e.g. {"--model", "a=DIR", "--model", "b=DIR"} or
  // {"--model", model_dir(), "--register", ...}.
  absl::StatusOr<std::unique_ptr<DaemonProcess>> StartRolloutServer(
      const std::vector<std::string>& args);

  // SIGKILLs the learner (if running) and starts a new one on the same state dir.
  void KillLearner();
  void StartLearner();
  void RestartLearner() {
    KillLearner();
    StartLearner();
  }

  DaemonProcess* learner() { return learner_.get(); }
  DaemonProcess* rollout(int i) { return rollouts_[i].get(); }
  DaemonProcess* reward(int i = 0) { return rewards_[i].get(); }
  void KillRollout(int i);
  // SIGKILLs reward server i; RestartReward starts it again on the same address.
  void KillReward(int i);
  void RestartReward(int i);
  // The job's event messages (WatchJob), oldest first, read until the job ends.
  absl::StatusOr<std::vector<std::string>> EventsToEnd(const std::string& id);

 private:
  std::unique_ptr<DaemonProcess> StartReward(const std::string& listen);

  const LearnerClusterOptions options_;
  TempDir tmp_;
  std::vector<std::unique_ptr<DaemonProcess>> rollouts_, rewards_;
  std::vector<std::string> reward_addresses_;
  std::unique_ptr<DaemonProcess> learner_;
  std::unique_ptr<v1::JobService::Stub> stub_;
};

// The weights of a checkpoint (or model) directory, for bitwise comparisons.
std::vector<float> LoadParams(const std::string& dir);

// True when the two directories hold bitwise-identical (and non-empty) weights.
bool SameWeights(const std::string& dir_a, const std::string& dir_b);

}  // namespace flywheel::testing
