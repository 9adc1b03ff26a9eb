// A local flywheel cluster on loopback for `flywheel up` and `flywheel demo`: N rollout servers,
// one reward server and the learner, each a child process. A child's stdout is read for its
// "listening on" / "metrics on" lines; its stderr (the log) goes to <state_dir>/logs/<name>.log.
// Children run in their own process group (a terminal's Ctrl-C reaches only the parent, which then
// stops them in order) and get SIGTERM if the parent dies. Not thread-safe: one owner thread.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace flywheel::cli {

struct LocalClusterOptions {
  std::string model_dir;  // served by every rollout server
  std::string state_dir;  // the learner's --state-dir; logs go to <state_dir>/logs
  int rollout_servers = 1;
  std::string learner_listen = "127.0.0.1:7070";
  int rollout_threads = 1;  // per rollout server
  int reward_threads = 1;
  int learner_threads = 1;
  std::string learner_token_file;  // the learner's --server-token-file; empty = no auth
  double start_timeout_s = 60;     // for each daemon to print its addresses
};

// `threads` when > 0, else this machine's core count (at least 1).
int ResolveCores(int threads);

// Sets the per-daemon thread counts so that the daemons together use `total_threads` cores
// (<= 0: all of this machine's). The worker pools spin at their barriers, so oversubscribing
// cores costs more than leaving one idle: the rollout servers share half the cores, the learner
// takes the other half (with max_async_steps >= 1 the two run at the same time), and the reward
// server, whose work is light, one thread.
void SplitThreads(int total_threads, LocalClusterOptions* options);

// Where a daemon binary is: beside this executable, then in the build tree's sibling folders
// (../learner, ../rollout_server, ../reward), then on $PATH. NotFound names the places tried.
absl::StatusOr<std::string> FindDaemonBinary(const std::string& name);

struct DaemonInfo {
  std::string name;  // "rollout-0", "reward", "learner"
  std::string binary;
  pid_t pid = -1;
  std::string address;          // gRPC HOST:PORT
  std::string metrics_address;  // HOST:PORT of /metrics
  std::string log_path;
};

class LocalCluster {
 public:
  // Starts every daemon and waits until each has printed its addresses. On any failure the ones
  // already started are stopped and the error names the daemon and quotes the end of its log.
  static absl::StatusOr<std::unique_ptr<LocalCluster>> Start(const LocalClusterOptions& options);

  // Stops whatever still runs (see Stop).
  ~LocalCluster();
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;

  const std::vector<DaemonInfo>& daemons() const { return daemons_; }
  // The policy's rollout servers ("rollout-N"), not those added with AddRolloutServer.
  std::vector<std::string> rollout_addresses() const;
  std::vector<std::string> reward_addresses() const;
  std::string learner_address() const;

  // Starts one more rollout server, named `name` (e.g. "teacher-0"), serving `model_dir` with
  // `threads` threads, and waits for its addresses: a distillation teacher started once its model
  // exists. Errors as Start; the cluster is unchanged on error (the failed child is stopped).
  absl::StatusOr<DaemonInfo> AddRolloutServer(const std::string& name, const std::string& model_dir,
                                              int threads);

  // Reaps children that have exited. OK while all run; otherwise FailedPrecondition naming the
  // first that died, how, and the end of its log. Also moves any extra stdout into the logs.
  absl::Status CheckAlive();

  // Stops the learner first (it is the rollout and reward servers' client), then the others:
  // SIGTERM, up to grace_s seconds each round, then SIGKILL. Returns an error listing the daemons
  // that had to be killed or exited with a non-zero status. Idempotent.
  absl::Status Stop(double grace_s = 20);

 private:
  struct Child {
    DaemonInfo info;
    int stdout_fd = -1;
    bool exited = false;
    int status = 0;  // from waitpid
  };
  LocalCluster() = default;
  absl::Status Spawn(const std::string& name, const std::vector<std::string>& argv);
  absl::Status WaitForAddresses(Child* child, double timeout_s);
  // Waits up to timeout_s for every child in `which` to exit; true when all did.
  bool WaitExit(const std::vector<Child*>& which, double timeout_s);
  void Drain(Child* child);

  LocalClusterOptions options_;
  std::vector<std::unique_ptr<Child>> children_;
  std::vector<DaemonInfo> daemons_;
  bool stopped_ = false;
};

}  // namespace flywheel::cli
