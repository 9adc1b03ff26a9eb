// What every flywheel daemon's main() does the same way, around its own engine or service: block
// the stop signals, parse the flags (with the ones all daemons share), resolve --threads and the
// --auth-token-file, start the gRPC server on --listen and announce both addresses. Transport
// settings of the servers (message limits, later TLS) are decided here once.
//
// Thread safety: call from main() only, before and after the daemon's own threads run.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/base/flags.h"
#include "grpcpp/server.h"

namespace flywheel::rpc {

struct DaemonSetup {
  Flags flags;
  int threads = 1;         // --threads, default this machine's cores; >= 1
  std::string auth_token;  // from --auth-token-file when the daemon takes one; "" = none
};

struct DaemonFlagSpec {
  std::set<std::string> valued{};   // the daemon's own flags that take a value
  std::set<std::string> boolean{};  // ... and that take none
  std::vector<std::string> required{};
  bool auth_token_file = false;  // accept --auth-token-file
  const char* usage = "";
};

// Blocks SIGTERM/SIGINT (before any thread starts) and parses argv; --listen, --metrics-listen
// and --threads are always accepted and the first two required. Returns the setup when the daemon
// should run; otherwise sets *exit_code (0 after --help, 2 for a usage error with the usage
// printed, 1 for a bad --threads or unreadable token file with the reason on stderr).
std::optional<DaemonSetup> StartDaemon(const char* program, int argc, char** argv,
                                       const DaemonFlagSpec& spec, int* exit_code);

struct ServerOptions {
  int max_receive_message_bytes = 4 << 20;  // gRPC's default
  int max_send_message_bytes = 4 << 20;
};

// Builds and starts a gRPC server on `listen` with `services` (not owned; they must outlive the
// server) and prints "<program> listening on HOST:PORT" (the port actually bound).
// Unavailable("cannot listen on ...") when the address cannot be bound. *bound_port (when not
// null) receives the port.
absl::StatusOr<std::unique_ptr<grpc::Server>> StartServer(
    const char* program, const std::string& listen, const std::vector<grpc::Service*>& services,
    const ServerOptions& options, int* bound_port = nullptr);

}  // namespace flywheel::rpc
