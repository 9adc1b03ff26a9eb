// flywheel-learner: runs training jobs (GRPO over rollout and reward servers, or SFT) submitted
// through JobService, and keeps their records in SQLite under --state-dir so a restarted learner
// lists them and resumes the running one from its latest checkpoint.
//
//   flywheel-learner --listen HOST:PORT --metrics-listen HOST:PORT --state-dir DIR
//                    [--threads N] [--auth-token-file F] [--server-token-file F]
//                    [--probe-timeout SECONDS] [--max-running-jobs N]
//                    [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]] [--tls-ca FILE]
//
// Port 0 picks a free port; the chosen addresses are printed on stdout as
//   flywheel-learner listening on HOST:PORT
//   flywheel-learner metrics on HOST:PORT
// SIGTERM or SIGINT stops it: the running job stops where it is (to resume on restart).
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/base/daemon.h"
#include "common/base/logging.h"
#include "common/metrics/metrics_server.h"
#include "common/rpc/auth.h"
#include "common/rpc/daemon_main.h"
#include "learner/jobs/fleet_service.h"
#include "learner/jobs/job_board.h"
#include "learner/jobs/job_service.h"
#include "learner/jobs/learner_metrics.h"
#include "learner/jobs/tenants.h"

namespace {

constexpr char kProgram[] = "flywheel-learner";
constexpr char kUsage[] =
    "usage: flywheel-learner --listen HOST:PORT --metrics-listen HOST:PORT --state-dir DIR\n"
    "                        [--threads N] [--auth-token-file F] [--server-token-file F]\n"
    "                        [--probe-timeout SECONDS] [--max-running-jobs N]\n"
    "                        [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]]\n"
    "                        [--tls-ca FILE]\n"
    "  --listen              gRPC address of JobService; port 0 picks a free port (printed)\n"
    "  --metrics-listen      Prometheus /metrics address; port 0 picks a free port\n"
    "  --state-dir           job database (jobs.db) and default checkpoint directories\n"
    "  --threads             model compute threads (default: all cores)\n"
    "  --auth-token-file     tenants' bearer tokens, one `TENANT TOKEN` per line; each tenant\n"
    "                        sees only its own jobs, tenant `admin` sees all. A file with one\n"
    "                        bare token makes it the admin's. Default: no authentication\n"
    "  --server-token-file   bearer token for the rollout servers' PushWeights (default: none)\n"
    "  --probe-timeout       seconds SubmitJob waits for each server to answer (default 3)\n"
    "  --max-running-jobs    jobs run at once, each with its own trainer state (default 1; the\n"
    "                        rest queue). They share --threads and the machine's memory.\n"
    "  --tls-cert FILE       serve JobService over TLS with this certificate (PEM), with\n"
    "                        --tls-key; also presented to servers that require mutual TLS\n"
    "  --tls-key FILE        its private key (PEM)\n"
    "  --tls-client-ca FILE  mutual TLS: require client certificates signed by this CA\n"
    "  --metrics-tls         serve /metrics over HTTPS with --tls-cert/--tls-key (and ask\n"
    "                        scrapers for a certificate under --tls-client-ca)\n"
    "  --tls-ca FILE         reach the rollout, reward and teacher servers over TLS, verifying\n"
    "                        them with this CA (PEM)\n"
    "Rollout servers started with --register THIS_ADDRESS announce themselves to FleetService\n"
    "here (with tokens, the admin's); jobs whose rollout_servers list \"registered\" take them\n"
    "up.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace flywheel;
  int exit_code = 0;
  auto setup = rpc::StartDaemon(kProgram, argc, argv,
                                {.valued = {"state-dir", "server-token-file", "probe-timeout",
                                            "auth-token-file", "max-running-jobs"},
                                 .required = {"state-dir"},
                                 .tls_client = true,
                                 .usage = kUsage},
                                &exit_code);
  if (!setup) return exit_code;
  const Flags& flags = setup->flags;
  learner::Tenants tenants;
  if (auto f = flags.Get("auth-token-file")) {
    auto t = learner::Tenants::Load(*f);
    if (!t.ok()) return ReportStartupFailure(kProgram, t.status());
    tenants = *std::move(t);
  }
  auto probe = flags.GetDouble("probe-timeout", 3.0);
  if (!probe.ok()) return ReportStartupFailure(kProgram, probe.status());
  if (!(*probe > 0)) {
    return ReportStartupFailure(kProgram,
                                absl::InvalidArgumentError("--probe-timeout must be > 0"));
  }
  auto max_running = flags.GetInt("max-running-jobs", 1);
  if (!max_running.ok()) return ReportStartupFailure(kProgram, max_running.status());
  if (*max_running < 1) {
    return ReportStartupFailure(kProgram,
                                absl::InvalidArgumentError("--max-running-jobs must be >= 1"));
  }
  std::string server_token;
  if (auto f = flags.Get("server-token-file")) {
    auto t = rpc::ReadTokenFile(*f);
    if (!t.ok()) return ReportStartupFailure(kProgram, t.status());
    server_token = *t;
  }
  const std::string state_dir = *flags.Get("state-dir");
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) {
    return ReportStartupFailure(kProgram, absl::PermissionDeniedError(absl::StrCat(
                                              "cannot create ", state_dir, ": ", ec.message())));
  }
  auto store = learner::JobStore::Open((std::filesystem::path(state_dir) / "jobs.db").string());
  if (!store.ok()) return ReportStartupFailure(kProgram, store.status());

  const std::string metrics_listen = *flags.Get("metrics-listen");
  auto metrics_server = rpc::StartMetrics(*setup);
  if (!metrics_server.ok()) return ReportStartupFailure(kProgram, metrics_server.status());
  learner::LearnerMetrics metrics(metrics_server->get());
  learner::JobEvents events;
  learner::JobBoard board(store->get(), &events, &metrics);
  // Jobs running at once share this pool: Run() serialises its callers, and every kernel's bits
  // are independent of how those calls interleave (tests/base/thread_pool_test.cc).
  ThreadPool pool(setup->threads);
  learner::FleetRegistry registry;

  learner::RunnerEnv env;
  env.board = &board;
  env.pool = &pool;
  env.state_dir = state_dir;
  env.server_token = server_token;
  env.server_tls = setup->client_tls;
  env.registry = &registry;
  learner::SpecCheckOptions check;
  check.probe_timeout_seconds = *probe;
  check.bearer_token = server_token;
  check.tls = setup->client_tls;
  learner::FleetServiceImpl fleet(&registry, tenants);
  learner::JobServiceImpl service(env, check, std::move(tenants), static_cast<int>(*max_running));

  auto server = rpc::StartServer(kProgram, *flags.Get("listen"), {&service, &fleet},
                                 {.tls = setup->server_tls});
  if (!server.ok()) return ReportStartupFailure(kProgram, server.status());
  if (absl::Status s = service.Start(); !s.ok()) return ReportStartupFailure(kProgram, s);
  AnnounceAddress(kProgram, "metrics on", metrics_listen, (*metrics_server)->port());
  FW_LOG(INFO) << "state in " << state_dir << ", " << setup->threads << " threads, up to "
               << *max_running << " job(s) at once";

  const int sig = WaitForStopSignal();
  FW_LOG(INFO) << "signal " << sig << ": shutting down";
  service.Shutdown();  // Stops the running job; its record stays RUNNING to resume.
  (*server)->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  (*server)->Wait();
  FW_LOG(INFO) << "stopped";
  return 0;
}
