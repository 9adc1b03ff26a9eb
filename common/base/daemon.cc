#include "common/base/daemon.h"

#include <signal.h>

#include <cstdio>

namespace flywheel {
namespace {

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

void BlockStopSignals() {
  const sigset_t set = StopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForStopSignal() {
  const sigset_t set = StopSignals();
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

void AnnounceAddress(const std::string& program, const std::string& what, const std::string& listen,
                     int port) {
  const std::string host = listen.substr(0, listen.rfind(':'));
  std::printf("%s %s %s:%d\n", program.c_str(), what.c_str(), host.c_str(), port);
  std::fflush(stdout);
}

int ReportStartupFailure(const std::string& program, const absl::Status& status) {
  std::fprintf(stderr, "%s: %s\n", program.c_str(), std::string(status.message()).c_str());
  return 1;
}

}  // namespace flywheel
