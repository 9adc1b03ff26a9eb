// flywheel-reward: scores completions against per-row task specs.
//
//   flywheel-reward --listen HOST:PORT --metrics-listen HOST:PORT [--judge HOST:PORT]
//                   [--threads N] [--item-timeout SECONDS]
//                   [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]] [--tls-ca FILE]
//
// Port 0 picks a free port; the chosen addresses are printed on stdout as
//   flywheel-reward listening on HOST:PORT
//   flywheel-reward metrics on HOST:PORT
// SIGTERM or SIGINT stops it after the requests in flight.
#include <cstdio>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/base/daemon.h"
#include "common/base/flags.h"
#include "common/base/logging.h"
#include "common/metrics/metrics_server.h"
#include "common/rpc/daemon_main.h"
#include "reward/reward_service.h"
#include "reward/rollout_judge.h"

namespace {

constexpr char kUsage[] =
    "usage: flywheel-reward --listen HOST:PORT --metrics-listen HOST:PORT [--judge HOST:PORT]\n"
    "                       [--threads N] [--item-timeout SECONDS]\n"
    "                       [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]] [--tls-ca "
    "FILE]\n"
    "  --listen          gRPC address; port 0 picks a free port (printed on stdout)\n"
    "  --metrics-listen  Prometheus /metrics address; port 0 picks a free port\n"
    "  --judge           flywheel-rollout server of the judge model, for judged rubric criteria\n"
    "  --threads         scoring workers (default: all cores)\n"
    "  --item-timeout    seconds one item may take before it fails alone (default 10)\n"
    "  --tls-cert FILE       serve gRPC over TLS with this certificate (PEM), with --tls-key; "
    "also\n"
    "                        the judge client's certificate when the judge requires mutual TLS\n"
    "  --tls-key FILE        its private key (PEM)\n"
    "  --tls-client-ca FILE  mutual TLS: require client certificates signed by this CA\n"
    "  --metrics-tls         serve /metrics over HTTPS with --tls-cert/--tls-key (and ask\n"
    "                        scrapers for a certificate under --tls-client-ca)\n"
    "  --tls-ca FILE         reach the judge over TLS, verifying it with this CA (PEM)\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace flywheel;
  constexpr char kProgram[] = "flywheel-reward";
  int exit_code = 0;
  auto setup = rpc::StartDaemon(
      kProgram, argc, argv,
      {.valued = {"judge", "item-timeout"}, .tls_client = true, .usage = kUsage}, &exit_code);
  if (!setup) return exit_code;
  const Flags& flags = setup->flags;
  auto timeout = flags.GetDouble("item-timeout", 10);
  if (!timeout.ok()) return ReportStartupFailure(kProgram, timeout.status());
  if (!(*timeout > 0)) {
    return ReportStartupFailure(kProgram,
                                absl::InvalidArgumentError("--item-timeout must be positive"));
  }

  const std::string metrics_listen = *flags.Get("metrics-listen");
  auto metrics_server = rpc::StartMetrics(*setup);
  if (!metrics_server.ok()) return ReportStartupFailure(kProgram, metrics_server.status());
  reward::RewardMetrics metrics(metrics_server->get());
  std::unique_ptr<reward::RolloutJudge> judge;
  if (auto addr = flags.Get("judge"))
    judge = std::make_unique<reward::RolloutJudge>(*addr, setup->client_tls);
  reward::RewardServiceOptions opt;
  opt.threads = setup->threads;
  opt.item_timeout_seconds = *timeout;
  reward::RewardService service(opt, judge.get(), &metrics);

  // Batches of long completions exceed gRPC's 4 MiB default.
  auto server =
      rpc::StartServer(kProgram, *flags.Get("listen"), {&service},
                       {.max_receive_message_bytes = 256 << 20, .tls = setup->server_tls});
  if (!server.ok()) return ReportStartupFailure(kProgram, server.status());
  AnnounceAddress(kProgram, "metrics on", metrics_listen, (*metrics_server)->port());
  FW_LOG(INFO) << "scoring with " << opt.threads << " workers"
               << (judge ? ", judge at " + *flags.Get("judge") : "");

  const int sig = WaitForStopSignal();
  FW_LOG(INFO) << "signal " << sig << ": shutting down";
  (*server)->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  (*server)->Wait();
  return 0;
}
