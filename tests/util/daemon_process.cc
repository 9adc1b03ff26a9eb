#include "tests/util/daemon_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"

namespace flywheel::testing {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Returns the text after `marker` on a line of `text`, up to the end of that line.
std::string After(const std::string& text, const std::string& marker) {
  size_t p = text.find(marker);
  if (p == std::string::npos) return "";
  size_t e = text.find('\n', p);
  if (e == std::string::npos) return "";
  return text.substr(p + marker.size(), e - p - marker.size());
}

}  // namespace

absl::StatusOr<std::unique_ptr<DaemonProcess>> DaemonProcess::Start(
    const std::vector<std::string>& argv, double timeout_s, const std::string& stderr_path) {
  int fds[2];
  if (pipe(fds) != 0) return absl::InternalError("pipe failed");
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    if (!stderr_path.empty()) {
      const int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (err >= 0) {
        dup2(err, STDERR_FILENO);
        close(err);
      }
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  std::unique_ptr<DaemonProcess> d(new DaemonProcess());
  d->pid_ = pid;
  d->stdout_fd_ = fds[0];
  std::string out;
  const double deadline = Now() + timeout_s;
  while (d->address_.empty() || d->metrics_.empty()) {
    pollfd p{fds[0], POLLIN, 0};
    const int wait_ms = static_cast<int>(std::max(0.0, deadline - Now()) * 1000);
    if (wait_ms == 0 || poll(&p, 1, wait_ms) <= 0) {
      return absl::DeadlineExceededError(
          absl::StrCat(argv[0], " printed no addresses in ", timeout_s, " s: ", out));
    }
    char buf[4096];
    ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n <= 0) {
      int status = 0;
      waitpid(pid, &status, 0);
      d->pid_ = -1;
      return absl::FailedPreconditionError(
          absl::StrCat(argv[0], " exited (status ", status, ") before serving: ", out));
    }
    out.append(buf, n);
    d->address_ = After(out, " listening on ");
    d->metrics_ = After(out, " metrics on ");
  }
  return d;
}

absl::StatusOr<int> DaemonProcess::Stop(int signal, double timeout_s) {
  if (pid_ < 0) return absl::FailedPreconditionError("not running");
  kill(pid_, signal);
  const double deadline = Now() + timeout_s;
  while (Now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("process ", pid_, " did not exit in ", timeout_s, " s"));
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

absl::StatusOr<std::string> HttpGet(const std::string& address, const std::string& path) {
  const size_t colon = address.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  if (inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("not an IPv4 address: ", address));
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    close(fd);
    return absl::UnavailableError(absl::StrCat("cannot connect to ", address));
  }
  const std::string req = absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: ", address, "\r\n\r\n");
  (void)!write(fd, req.data(), req.size());
  std::string resp;
  char buf[8192];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) resp.append(buf, n);
  close(fd);
  const size_t body = resp.find("\r\n\r\n");
  if (resp.rfind("HTTP/1.", 0) != 0 || body == std::string::npos) {
    return absl::DataLossError(absl::StrCat("bad HTTP response from ", address));
  }
  if (resp.find(" 200 ") > resp.find("\r\n"))
    return absl::UnavailableError(resp.substr(0, resp.find("\r\n")));
  return resp.substr(body + 4);
}

}  // namespace flywheel::testing
