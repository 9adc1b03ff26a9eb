#include "common/rpc/daemon_main.h"

#include <netdb.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/base/daemon.h"
#include "common/base/listen_address.h"
#include "common/rpc/auth.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace flywheel::rpc {
namespace {

// The TLS settings of a daemon's own gRPC client connections: --tls-ca, and the daemon's
// certificate for servers that require mutual TLS.
absl::StatusOr<ClientTls> DaemonClientTls(const Flags& flags, const ServerTls& server) {
  ClientTls tls;
  const auto ca = flags.Get("tls-ca");
  if (!ca) return tls;
  auto roots = ReadPem(*ca, "CERTIFICATE", "tls-ca");
  if (!roots.ok()) return roots.status();
  tls.root_certs = std::move(*roots);
  tls.cert_chain = server.cert_chain;
  tls.private_key = server.private_key;
  return tls;
}

// Why `listen` ("HOST:PORT") cannot be bound, asked of the operating system with a plain socket:
// "Address already in use", "Permission denied", "cannot resolve HOST". "" when it can be bound
// (then the TLS material is the likelier cause of gRPC's failure).
std::string ListenProblem(const std::string& listen) {
  auto found = ResolveListen(listen);
  if (!found.ok()) return std::string(found.status().message());
  std::string problem;
  for (addrinfo* a = found->get(); a != nullptr; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));  // as gRPC does
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0) problem = std::strerror(errno);
    close(fd);
    if (!problem.empty()) break;
  }
  return problem;
}

}  // namespace

std::optional<DaemonSetup> StartDaemon(const char* program, int argc, char** argv,
                                       const DaemonFlagSpec& spec, int* exit_code) {
  BlockStopSignals();  // Before any thread starts: main() waits for them with WaitForStopSignal.
  // A write past RLIMIT_FSIZE then fails with EFBIG, which the daemon reports (a checkpoint on a
  // full or capped file system), rather than killing it.
  signal(SIGXFSZ, SIG_IGN);
  std::set<std::string> valued = spec.valued;
  valued.insert({"listen", "metrics-listen", "threads"});
  AddServerTlsFlags(&valued);
  std::set<std::string> boolean = spec.boolean;
  boolean.insert("metrics-tls");
  if (spec.tls_client) valued.insert("tls-ca");
  if (spec.auth_token_file) valued.insert("auth-token-file");
  std::vector<std::string> required = {"listen", "metrics-listen"};
  required.insert(required.end(), spec.required.begin(), spec.required.end());
  auto flags = Flags::ParseOrUsage(program, std::vector<std::string>(argv + 1, argv + argc), valued,
                                   boolean, required, spec.usage, exit_code);
  if (!flags) return std::nullopt;
  DaemonSetup setup{std::move(*flags), 1, "", {}, {}};
  auto fail = [&](const absl::Status& status) {
    *exit_code = ReportStartupFailure(program, status);
    return std::nullopt;
  };
  auto threads = setup.flags.GetInt("threads", std::max(1u, std::thread::hardware_concurrency()));
  if (!threads.ok()) return fail(threads.status());
  if (*threads < 1) return fail(absl::InvalidArgumentError("--threads must be >= 1"));
  setup.threads = static_cast<int>(*threads);
  if (auto file = setup.flags.Get("auth-token-file")) {
    auto token = ReadTokenFile(*file);
    if (!token.ok()) return fail(token.status());
    setup.auth_token = *token;
  }
  auto server_tls = ServerTlsFromFlags(setup.flags);
  if (!server_tls.ok()) return fail(server_tls.status());
  setup.server_tls = std::move(*server_tls);
  if (setup.flags.Has("metrics-tls") && !setup.server_tls.enabled()) {
    return fail(absl::InvalidArgumentError(
        "--metrics-tls serves /metrics with the daemon's certificate: give --tls-cert and "
        "--tls-key"));
  }
  auto client_tls = DaemonClientTls(setup.flags, setup.server_tls);
  if (!client_tls.ok()) return fail(client_tls.status());
  setup.client_tls = std::move(*client_tls);
  return setup;
}

absl::StatusOr<std::unique_ptr<metrics::MetricsServer>> StartMetrics(const DaemonSetup& setup) {
  if (setup.flags.Has("metrics-tls")) {
    // The gRPC port's certificate, and its client CA: with mutual TLS, scrapers present a
    // certificate too.
    const metrics::MetricsTls tls{setup.server_tls.cert_chain, setup.server_tls.private_key,
                                  setup.server_tls.client_ca};
    return metrics::MetricsServer::Start(*setup.flags.Get("metrics-listen"), &tls);
  }
  return metrics::MetricsServer::Start(*setup.flags.Get("metrics-listen"));
}

absl::StatusOr<std::unique_ptr<grpc::Server>> StartServer(
    const char* program, const std::string& listen, const std::vector<grpc::Service*>& services,
    const ServerOptions& options, int* bound_port) {
  // grpc.health.v1.Health answers SERVING while the server runs: Kubernetes' gRPC readiness
  // probes (deploy/k8s) use it.
  grpc::EnableDefaultHealthCheckService(true);
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (options.tls.enabled()) {
    grpc::SslServerCredentialsOptions ssl(
        options.tls.client_ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                      : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    ssl.pem_root_certs = options.tls.client_ca;
    ssl.pem_key_cert_pairs.push_back({options.tls.private_key, options.tls.cert_chain});
    credentials = grpc::SslServerCredentials(ssl);
  }
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, credentials, &port);
  for (grpc::Service* s : services) builder.RegisterService(s);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  builder.SetMaxSendMessageSize(options.max_send_message_bytes);
  // gRPC shares ports (SO_REUSEPORT) by default: a second server on a busy port would start and
  // take some of the first one's connections.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::string why = ListenProblem(listen);
    if (why.empty()) {
      why = options.tls.enabled() ? "gRPC refused the address or the TLS certificate and key"
                                  : "gRPC refused the address";
    }
    return absl::UnavailableError(absl::StrCat("cannot listen on ", listen, ": ", why));
  }
  AnnounceAddress(program, "listening on", listen, port);
  if (bound_port != nullptr) *bound_port = port;
  return server;
}

}  // namespace flywheel::rpc
