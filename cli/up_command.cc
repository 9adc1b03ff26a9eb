// flywheel up --model DIR [--state-dir DIR] [--rollout-servers N] [--learner-listen ADDR]
//             [--threads N]
// Starts a local cluster on loopback (N rollout servers serving DIR, a reward server and the
// learner), prints each daemon's addresses and the job-spec lines that point at them, and runs
// until Ctrl-C or SIGTERM, when it stops every daemon (learner first) and exits 0. If a daemon
// dies on its own, it says which and how, stops the others and exits 1.
#include <signal.h>

#include <cstdio>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/command.h"
#include "cli/local_cluster.h"
#include "common/base/flags.h"

namespace flywheel::cli {
namespace {

constexpr char kUsage[] =
    "usage: flywheel up --model DIR [--state-dir DIR] [--rollout-servers N]\n"
    "                   [--learner-listen HOST:PORT] [--threads N]\n"
    "  --model            model directory the rollout servers serve (`flywheel init-model`)\n"
    "  --state-dir        the learner's state (job records, checkpoints) and the daemons' logs\n"
    "                     (default ./flywheel-state)\n"
    "  --rollout-servers  how many rollout servers (default 1)\n"
    "  --learner-listen   the learner's address (default 127.0.0.1:7070; the other daemons\n"
    "                     take free loopback ports)\n"
    "  --threads          cores the daemons share (default: all)\n"
    "Ctrl-C stops the cluster.\n";

constexpr char kProgram[] = "flywheel up";

std::string Quoted(const std::vector<std::string>& addresses) {
  std::vector<std::string> q;
  for (const auto& a : addresses) q.push_back(absl::StrCat("\"", a, "\""));
  return absl::StrCat("[", absl::StrJoin(q, ", "), "]");
}

int Up(const std::vector<std::string>& args) {
  int exit_code = 0;
  auto flags = Flags::ParseOrUsage(
      kProgram, args, {"model", "state-dir", "rollout-servers", "learner-listen", "threads"}, {},
      {"model"}, kUsage, &exit_code);
  if (!flags) return exit_code;
  auto rollouts = flags->GetInt("rollout-servers", 1);
  auto threads = flags->GetInt("threads", 0);
  if (!rollouts.ok() || *rollouts < 1 || *rollouts > 64) {
    std::fprintf(stderr, "%s: --rollout-servers must be an integer in 1..64\n%s", kProgram, kUsage);
    return 2;
  }
  if (!threads.ok() || *threads < 0) {
    std::fprintf(stderr, "%s: --threads must be a positive integer\n%s", kProgram, kUsage);
    return 2;
  }
  LocalClusterOptions options;
  options.model_dir = std::filesystem::absolute(*flags->Get("model")).string();
  options.state_dir =
      std::filesystem::absolute(flags->GetOr("state-dir", "flywheel-state")).string();
  options.rollout_servers = static_cast<int>(*rollouts);
  options.learner_listen = flags->GetOr("learner-listen", options.learner_listen);
  SplitThreads(static_cast<int>(*threads), &options);

  // Block the stop signals before any child exists, so one that arrives while the cluster starts
  // waits for the loop below instead of killing this process and orphaning the children.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::printf("starting %d rollout server%s, a reward server and the learner (state in %s)\n",
              options.rollout_servers, options.rollout_servers == 1 ? "" : "s",
              options.state_dir.c_str());
  std::fflush(stdout);
  auto cluster = LocalCluster::Start(options);
  if (!cluster.ok()) {
    std::fprintf(stderr, "%s: %s\n", kProgram, std::string(cluster.status().message()).c_str());
    return 1;
  }
  for (const auto& d : (*cluster)->daemons()) {
    std::printf("  %-10s %-21s metrics %-21s pid %d  log %s\n", d.name.c_str(), d.address.c_str(),
                d.metrics_address.c_str(), static_cast<int>(d.pid), d.log_path.c_str());
  }
  std::printf("\njob spec lines for this cluster:\n");
  std::printf("rollout_servers: %s\n", Quoted((*cluster)->rollout_addresses()).c_str());
  std::printf("reward_servers: %s\n\n", Quoted((*cluster)->reward_addresses()).c_str());
  std::printf("learner at %s (export FLYWHEEL_LEARNER=%s); Ctrl-C stops the cluster\n",
              (*cluster)->learner_address().c_str(), (*cluster)->learner_address().c_str());
  std::fflush(stdout);

  const timespec poll_interval{0, 200 * 1000 * 1000};
  while (true) {
    const int sig = sigtimedwait(&stop_signals, nullptr, &poll_interval);
    if (sig == SIGINT || sig == SIGTERM) {
      std::printf("\n%s: stopping the cluster\n", sig == SIGINT ? "interrupted" : "terminated");
      std::fflush(stdout);
      const absl::Status st = (*cluster)->Stop();
      if (!st.ok()) {
        std::fprintf(stderr, "%s: %s\n", kProgram, std::string(st.message()).c_str());
        return 1;
      }
      std::printf("stopped\n");
      return 0;
    }
    if (absl::Status alive = (*cluster)->CheckAlive(); !alive.ok()) {
      std::fprintf(stderr, "%s: %s\n%s: stopping the other daemons\n", kProgram,
                   std::string(alive.message()).c_str(), kProgram);
      (void)(*cluster)->Stop();
      return 1;
    }
  }
}

}  // namespace

FW_REGISTER_COMMAND("up", "start a local cluster (rollout, reward, learner) until Ctrl-C", Up);

}  // namespace flywheel::cli
