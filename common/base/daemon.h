// What every flywheel daemon's main() does the same way: stop on SIGTERM/SIGINT, and announce
// the addresses it bound (tests start daemons on port 0 and read these lines).
#pragma once

#include <string>

#include "absl/status/status.h"

namespace flywheel {

// Blocks SIGTERM and SIGINT in the calling thread and in every thread it creates afterwards, so
// that WaitForStopSignal() receives them. Call first in main().
void BlockStopSignals();

// Waits until SIGTERM or SIGINT arrives; returns the signal number.
int WaitForStopSignal();

// Prints "<program> <what> HOST:PORT" on stdout and flushes, with HOST taken from `listen`
// ("HOST:PORT" as configured) and the port actually bound.
void AnnounceAddress(const std::string& program, const std::string& what, const std::string& listen,
                     int port);

// Prints "<program>: <message>" on stderr and returns 1, the exit status of a daemon that could
// not start.
int ReportStartupFailure(const std::string& program, const absl::Status& status);

}  // namespace flywheel
