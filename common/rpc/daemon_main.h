// What every flywheel daemon's main() does the same way, around its own engine or service: block
// the stop signals, parse the flags (with the ones all daemons share), resolve --threads and the
// --auth-token-file and the TLS files, start the gRPC server on --listen and announce both
// addresses. Transport settings of the servers (message limits, TLS, port sharing) are decided
// here once.
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
#include "common/metrics/metrics_server.h"
#include "common/rpc/tls.h"
#include "grpcpp/server.h"

namespace flywheel::rpc {

struct DaemonSetup {
  Flags flags;
  int threads = 1;         // --threads, default this machine's cores; >= 1
  std::string auth_token;  // from --auth-token-file when the daemon takes one; "" = none
  // --tls-cert / --tls-key / --tls-client-ca: the gRPC server's TLS (metrics stay plain HTTP).
  ServerTls server_tls;
  // For daemons that are clients too (tls_client): --tls-ca verifies the servers they call, and
  // the daemon presents its own --tls-cert / --tls-key to them (for servers that require mutual
  // TLS). Plaintext without --tls-ca.
  ClientTls client_tls;
};

struct DaemonFlagSpec {
  std::set<std::string> valued{};   // the daemon's own flags that take a value
  std::set<std::string> boolean{};  // ... and that take none
  std::vector<std::string> required{};
  bool auth_token_file = false;  // accept --auth-token-file
  bool tls_client = false;       // accept --tls-ca (the daemon calls other flywheel servers)
  const char* usage = "";
};

// Blocks SIGTERM/SIGINT (before any thread starts), ignores SIGXFSZ (a write past a file-size
// limit then fails with EFBIG and is reported, instead of killing the daemon) and parses argv;
// --listen, --metrics-listen, --threads and the server TLS flags are always accepted and the first
// two required; --metrics-tls serves /metrics over HTTPS with the server TLS flags. Returns
// the setup when the daemon should run; otherwise sets *exit_code (0 after
// --help, 2 for a usage error with the usage printed, 1 for a bad --threads or an unreadable
// token or TLS file with the reason on stderr).
std::optional<DaemonSetup> StartDaemon(const char* program, int argc, char** argv,
                                       const DaemonFlagSpec& spec, int* exit_code);

// Starts the daemon's /metrics server (plain HTTP) on --metrics-listen. Errors as
// MetricsServer::Start.
absl::StatusOr<std::unique_ptr<metrics::MetricsServer>> StartMetrics(const DaemonSetup& setup);

struct ServerOptions {
  int max_receive_message_bytes = 4 << 20;  // gRPC's default
  int max_send_message_bytes = 4 << 20;
  ServerTls tls;  // plaintext unless tls.enabled()
};

// Builds and starts a gRPC server on `listen` with `services` (not owned; they must outlive the
// server) and prints "<program> listening on HOST:PORT" (the port actually bound). The port is
// not shared (no SO_REUSEPORT): a second daemon on a port in use fails instead of splitting its
// traffic. Unavailable("cannot listen on ADDR: <reason>") when the address cannot be bound, the
// reason from the operating system ("Address already in use") when it gives one. *bound_port
// (when not null) receives the port.
absl::StatusOr<std::unique_ptr<grpc::Server>> StartServer(
    const char* program, const std::string& listen, const std::vector<grpc::Service*>& services,
    const ServerOptions& options, int* bound_port = nullptr);

}  // namespace flywheel::rpc
