#include "common/rpc/daemon_main.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/base/daemon.h"
#include "common/rpc/auth.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace flywheel::rpc {

std::optional<DaemonSetup> StartDaemon(const char* program, int argc, char** argv,
                                       const DaemonFlagSpec& spec, int* exit_code) {
  BlockStopSignals();  // Before any thread starts: main() waits for them with WaitForStopSignal.
  std::set<std::string> valued = spec.valued;
  valued.insert({"listen", "metrics-listen", "threads"});
  if (spec.auth_token_file) valued.insert("auth-token-file");
  std::vector<std::string> required = {"listen", "metrics-listen"};
  required.insert(required.end(), spec.required.begin(), spec.required.end());
  auto flags = Flags::ParseOrUsage(program, std::vector<std::string>(argv + 1, argv + argc), valued,
                                   spec.boolean, required, spec.usage, exit_code);
  if (!flags) return std::nullopt;
  DaemonSetup setup{std::move(*flags), 1, ""};
  auto threads = setup.flags.GetInt("threads", std::max(1u, std::thread::hardware_concurrency()));
  if (!threads.ok() || *threads < 1) {
    *exit_code = ReportStartupFailure(
        program,
        threads.ok() ? absl::InvalidArgumentError("--threads must be >= 1") : threads.status());
    return std::nullopt;
  }
  setup.threads = static_cast<int>(*threads);
  if (auto file = setup.flags.Get("auth-token-file")) {
    auto token = ReadTokenFile(*file);
    if (!token.ok()) {
      *exit_code = ReportStartupFailure(program, token.status());
      return std::nullopt;
    }
    setup.auth_token = *token;
  }
  return setup;
}

absl::StatusOr<std::unique_ptr<grpc::Server>> StartServer(
    const char* program, const std::string& listen, const std::vector<grpc::Service*>& services,
    const ServerOptions& options, int* bound_port) {
  // grpc.health.v1.Health answers SERVING while the server runs: Kubernetes' gRPC readiness
  // probes (deploy/k8s) use it.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  for (grpc::Service* s : services) builder.RegisterService(s);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  builder.SetMaxSendMessageSize(options.max_send_message_bytes);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", listen));
  }
  AnnounceAddress(program, "listening on", listen, port);
  if (bound_port != nullptr) *bound_port = port;
  return server;
}

}  // namespace flywheel::rpc
