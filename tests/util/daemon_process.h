// Starts a real flywheel daemon as a child process for integration tests and reads the
// addresses it prints ("<name> listening on HOST:PORT", "<name> metrics on HOST:PORT").
// The destructor kills a daemon that is still running.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace flywheel::testing {

class DaemonProcess {
 public:
  // Runs argv[0] with argv; waits up to timeout_s for both address lines on its stdout. Its
  // stderr (the log) is the test's, or appended to `stderr_path` when given.
  static absl::StatusOr<std::unique_ptr<DaemonProcess>> Start(const std::vector<std::string>& argv,
                                                              double timeout_s = 60,
                                                              const std::string& stderr_path = "");
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  const std::string& address() const { return address_; }          // gRPC HOST:PORT
  const std::string& metrics_address() const { return metrics_; }  // HOST:PORT
  pid_t pid() const { return pid_; }

  // Sends `signal` and waits up to timeout_s; returns the exit status (or -signal if killed by
  // one), DeadlineExceeded if it did not exit in time.
  absl::StatusOr<int> Stop(int signal, double timeout_s = 30);

 private:
  DaemonProcess() = default;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string address_, metrics_;
};

// GET http://address/path over loopback; the body, or an error.
absl::StatusOr<std::string> HttpGet(const std::string& address, const std::string& path);

}  // namespace flywheel::testing
