#include "cli/local_cluster.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/base/status_macros.h"

namespace flywheel::cli {
namespace {

namespace fs = std::filesystem;

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The text after `marker` on the first line of `text` holding it, or "" until that line is whole.
std::string After(const std::string& text, const std::string& marker) {
  const size_t p = text.find(marker);
  if (p == std::string::npos) return "";
  const size_t e = text.find('\n', p);
  if (e == std::string::npos) return "";
  return text.substr(p + marker.size(), e - p - marker.size());
}

// The last few lines of a log, for error messages.
std::string LogTail(const std::string& path, int max_lines = 6) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
    if (lines.size() > static_cast<size_t>(max_lines)) lines.erase(lines.begin());
  }
  if (lines.empty()) return absl::StrCat(" (", path, " is empty)");
  return absl::StrCat("; the end of ", path, ":\n    ", absl::StrJoin(lines, "\n    "));
}

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exited with status ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("was killed by signal ", WTERMSIG(status));
  return "stopped";
}

bool IsExecutable(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && access(p.c_str(), X_OK) == 0;
}

}  // namespace

int ResolveCores(int threads) {
  return threads > 0 ? threads
                     : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void SplitThreads(int total_threads, LocalClusterOptions* options) {
  const int total = ResolveCores(total_threads);
  const int rollout_share = std::max(1, total / 2);
  options->rollout_threads = std::max(1, rollout_share / std::max(1, options->rollout_servers));
  options->learner_threads = std::max(1, total - rollout_share);
  options->reward_threads = 1;
}

absl::StatusOr<std::string> FindDaemonBinary(const std::string& name) {
  std::vector<fs::path> tried;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path dir = self.parent_path();
    for (const fs::path& p : {dir / name, dir / ".." / "learner" / name,
                              dir / ".." / "rollout_server" / name, dir / ".." / "reward" / name}) {
      if (IsExecutable(p)) return p.lexically_normal().string();
      tried.push_back(p.lexically_normal());
    }
  }
  const char* path_env = std::getenv("PATH");
  if (path_env != nullptr) {
    for (absl::string_view d : absl::StrSplit(path_env, ':', absl::SkipEmpty())) {
      const fs::path p = fs::path(std::string(d)) / name;
      if (IsExecutable(p)) return p.string();
    }
  }
  std::vector<std::string> names;
  for (const auto& p : tried) names.push_back(p.string());
  names.push_back("$PATH");
  return absl::NotFoundError(
      absl::StrCat("cannot find ", name, " (looked in ", absl::StrJoin(names, ", "), ")"));
}

absl::StatusOr<std::unique_ptr<LocalCluster>> LocalCluster::Start(
    const LocalClusterOptions& options) {
  if (options.rollout_servers < 1) {
    return absl::InvalidArgumentError("a local cluster needs at least one rollout server");
  }
  std::unique_ptr<LocalCluster> cluster(new LocalCluster());
  cluster->options_ = options;
  std::error_code ec;
  fs::create_directories(fs::path(options.state_dir) / "logs", ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create ", options.state_dir, "/logs: ", ec.message()));
  }
  ASSIGN_OR_RETURN(const std::string rollout_bin, FindDaemonBinary("flywheel-rollout"));
  ASSIGN_OR_RETURN(const std::string reward_bin, FindDaemonBinary("flywheel-reward"));
  ASSIGN_OR_RETURN(const std::string learner_bin, FindDaemonBinary("flywheel-learner"));
  const std::string loopback = "127.0.0.1:0";

  // Start all, then wait for each: the daemons load in parallel.
  absl::Status st;
  for (int i = 0; i < options.rollout_servers && st.ok(); ++i) {
    st = cluster->Spawn(
        absl::StrCat("rollout-", i),
        {rollout_bin, "--model", options.model_dir, "--listen", loopback, "--metrics-listen",
         loopback, "--threads", std::to_string(options.rollout_threads)});
  }
  if (st.ok()) {
    st = cluster->Spawn("reward", {reward_bin, "--listen", loopback, "--metrics-listen", loopback,
                                   "--threads", std::to_string(options.reward_threads)});
  }
  if (st.ok()) {
    std::vector<std::string> argv = {
        learner_bin,        "--listen",  options.learner_listen,
        "--metrics-listen", loopback,    "--state-dir",
        options.state_dir,  "--threads", std::to_string(options.learner_threads)};
    if (!options.learner_token_file.empty()) {
      argv.push_back("--server-token-file");
      argv.push_back(options.learner_token_file);
    }
    st = cluster->Spawn("learner", argv);
  }
  for (size_t i = 0; i < cluster->children_.size() && st.ok(); ++i) {
    st = cluster->WaitForAddresses(cluster->children_[i].get(), options.start_timeout_s);
  }
  if (!st.ok()) {
    (void)cluster->Stop(5);
    return st;
  }
  for (const auto& c : cluster->children_) cluster->daemons_.push_back(c->info);
  return cluster;
}

absl::StatusOr<DaemonInfo> LocalCluster::AddRolloutServer(const std::string& name,
                                                          const std::string& model_dir,
                                                          int threads) {
  ASSIGN_OR_RETURN(const std::string bin, FindDaemonBinary("flywheel-rollout"));
  const std::string loopback = "127.0.0.1:0";
  RETURN_IF_ERROR(Spawn(name, {bin, "--model", model_dir, "--listen", loopback, "--metrics-listen",
                               loopback, "--threads", std::to_string(threads)}));
  Child* child = children_.back().get();
  if (absl::Status st = WaitForAddresses(child, options_.start_timeout_s); !st.ok()) {
    if (!child->exited) {
      kill(child->info.pid, SIGKILL);
      waitpid(child->info.pid, nullptr, 0);
    }
    if (child->stdout_fd >= 0) close(child->stdout_fd);
    children_.pop_back();
    return st;
  }
  daemons_.push_back(child->info);
  return child->info;
}

absl::Status LocalCluster::Spawn(const std::string& name, const std::vector<std::string>& argv) {
  auto child = std::make_unique<Child>();
  child->info.name = name;
  child->info.binary = argv[0];
  child->info.log_path = (fs::path(options_.state_dir) / "logs" / (name + ".log")).string();
  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  const int log_fd =
      open(child->info.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return absl::InternalError(absl::StrCat("cannot open ", child->info.log_path));
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int fds[2];
  if (null_fd < 0 || pipe2(fds, O_CLOEXEC) != 0) {
    close(log_fd);
    if (null_fd >= 0) close(null_fd);
    return absl::InternalError("cannot create a pipe");
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);  // the terminal's Ctrl-C goes to the parent only
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);  // the parent died before prctl
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);  // the parent may block SIGINT/SIGTERM
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    dup2(null_fd, STDIN_FILENO);
    dup2(fds[1], STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  close(log_fd);
  close(null_fd);
  if (pid < 0) {
    close(fds[0]);
    return absl::InternalError(absl::StrCat("cannot fork to start ", name));
  }
  child->info.pid = pid;
  child->stdout_fd = fds[0];
  children_.push_back(std::move(child));
  return absl::OkStatus();
}

absl::Status LocalCluster::WaitForAddresses(Child* child, double timeout_s) {
  std::string out;
  const double deadline = Now() + timeout_s;
  while (child->info.address.empty() || child->info.metrics_address.empty()) {
    pollfd p{child->stdout_fd, POLLIN, 0};
    const int wait_ms = static_cast<int>(std::max(0.0, deadline - Now()) * 1000);
    if (wait_ms == 0 || poll(&p, 1, wait_ms) <= 0) {
      return absl::DeadlineExceededError(absl::StrCat(child->info.name, " (", child->info.binary,
                                                      ") printed no addresses in ", timeout_s, " s",
                                                      LogTail(child->info.log_path)));
    }
    char buf[4096];
    const ssize_t n = read(child->stdout_fd, buf, sizeof(buf));
    if (n <= 0) {
      int status = 0;
      waitpid(child->info.pid, &status, 0);
      child->exited = true;
      child->status = status;
      return absl::FailedPreconditionError(
          absl::StrCat(child->info.name, " (", child->info.binary, ") ", DescribeExit(status),
                       " before serving", LogTail(child->info.log_path)));
    }
    out.append(buf, static_cast<size_t>(n));
    child->info.address = After(out, " listening on ");
    child->info.metrics_address = After(out, " metrics on ");
  }
  // From now on extra stdout is moved into the log without blocking (see Drain).
  fcntl(child->stdout_fd, F_SETFL, fcntl(child->stdout_fd, F_GETFL) | O_NONBLOCK);
  return absl::OkStatus();
}

void LocalCluster::Drain(Child* child) {
  if (child->stdout_fd < 0) return;
  char buf[4096];
  ssize_t n;
  std::ofstream log;
  while ((n = read(child->stdout_fd, buf, sizeof(buf))) > 0) {
    if (!log.is_open()) log.open(child->info.log_path, std::ios::app);
    log.write(buf, n);
  }
}

std::vector<std::string> LocalCluster::rollout_addresses() const {
  std::vector<std::string> out;
  for (const auto& d : daemons_) {
    if (d.name.rfind("rollout-", 0) == 0) out.push_back(d.address);
  }
  return out;
}

std::vector<std::string> LocalCluster::reward_addresses() const {
  std::vector<std::string> out;
  for (const auto& d : daemons_) {
    if (d.name == "reward") out.push_back(d.address);
  }
  return out;
}

std::string LocalCluster::learner_address() const {
  for (const auto& d : daemons_) {
    if (d.name == "learner") return d.address;
  }
  return "";
}

absl::Status LocalCluster::CheckAlive() {
  for (auto& c : children_) {
    Drain(c.get());
    if (c->exited) continue;
    int status = 0;
    if (waitpid(c->info.pid, &status, WNOHANG) == c->info.pid) {
      c->exited = true;
      c->status = status;
      return absl::FailedPreconditionError(absl::StrCat(c->info.name, " (pid ", c->info.pid, ") ",
                                                        DescribeExit(status),
                                                        LogTail(c->info.log_path)));
    }
  }
  return absl::OkStatus();
}

bool LocalCluster::WaitExit(const std::vector<Child*>& which, double timeout_s) {
  const double deadline = Now() + timeout_s;
  while (true) {
    bool all = true;
    for (Child* c : which) {
      if (c->exited) continue;
      int status = 0;
      if (waitpid(c->info.pid, &status, WNOHANG) == c->info.pid) {
        c->exited = true;
        c->status = status;
      } else {
        all = false;
      }
    }
    if (all) return true;
    if (Now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

absl::Status LocalCluster::Stop(double grace_s) {
  if (stopped_) return absl::OkStatus();
  stopped_ = true;
  std::vector<Child*> learner, others;
  for (auto& c : children_) (c->info.name == "learner" ? learner : others).push_back(c.get());
  std::vector<std::string> problems;
  for (const auto* round : {&learner, &others}) {
    for (Child* c : *round) {
      if (!c->exited) kill(c->info.pid, SIGTERM);
    }
    if (!WaitExit(*round, grace_s)) {
      for (Child* c : *round) {
        if (c->exited) continue;
        kill(c->info.pid, SIGKILL);
        problems.push_back(absl::StrCat(c->info.name, " did not stop within ", grace_s,
                                        " s of SIGTERM and was killed"));
      }
      WaitExit(*round, 1e9);
    }
  }
  for (auto& c : children_) {
    Drain(c.get());
    if (c->stdout_fd >= 0) close(c->stdout_fd);
    c->stdout_fd = -1;
    if (c->exited && !(WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0) &&
        !(WIFSIGNALED(c->status) && WTERMSIG(c->status) == SIGKILL)) {
      problems.push_back(absl::StrCat(c->info.name, " ", DescribeExit(c->status), " (log ",
                                      c->info.log_path, ")"));
    }
  }
  if (problems.empty()) return absl::OkStatus();
  return absl::InternalError(absl::StrJoin(problems, "; "));
}

LocalCluster::~LocalCluster() { (void)Stop(); }

}  // namespace flywheel::cli
