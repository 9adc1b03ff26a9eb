// flywheel-reward: scores completions against per-row task specs.
//
//   flywheel-reward --listen HOST:PORT --metrics-listen HOST:PORT [--judge HOST:PORT]
//                   [--threads N] [--item-timeout SECONDS]
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
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "reward/reward_service.h"
#include "reward/rollout_judge.h"

namespace {

constexpr char kUsage[] =
    "usage: flywheel-reward --listen HOST:PORT --metrics-listen HOST:PORT [--judge HOST:PORT]\n"
    "                       [--threads N] [--item-timeout SECONDS]\n"
    "  --listen          gRPC address; port 0 picks a free port (printed on stdout)\n"
    "  --metrics-listen  Prometheus /metrics address; port 0 picks a free port\n"
    "  --judge           flywheel-rollout server of the judge model, for judged rubric criteria\n"
    "  --threads         scoring workers (default: all cores)\n"
    "  --item-timeout    seconds one item may take before it fails alone (default 10)\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace flywheel;
  BlockStopSignals();  // Before any thread starts: the main thread waits for them below.
  int exit_code = 0;
  auto flags =
      Flags::ParseOrUsage("flywheel-reward", std::vector<std::string>(argv + 1, argv + argc),
                          {"listen", "metrics-listen", "judge", "threads", "item-timeout"}, {},
                          {"listen", "metrics-listen"}, kUsage, &exit_code);
  if (!flags) return exit_code;
  auto threads = flags->GetInt("threads", std::max(1u, std::thread::hardware_concurrency()));
  auto timeout = flags->GetDouble("item-timeout", 10);
  if (!threads.ok()) return ReportStartupFailure("flywheel-reward", threads.status());
  if (!timeout.ok()) return ReportStartupFailure("flywheel-reward", timeout.status());
  if (*threads < 1 || !(*timeout > 0))
    return ReportStartupFailure(
        "flywheel-reward",
        absl::InvalidArgumentError("--threads and --item-timeout must be positive"));

  auto metrics_server = metrics::MetricsServer::Start(*flags->Get("metrics-listen"));
  if (!metrics_server.ok()) return ReportStartupFailure("flywheel-reward", metrics_server.status());
  reward::RewardMetrics metrics(metrics_server->get());
  std::unique_ptr<reward::RolloutJudge> judge;
  if (auto addr = flags->Get("judge")) judge = std::make_unique<reward::RolloutJudge>(*addr);
  reward::RewardServiceOptions opt;
  opt.threads = static_cast<int>(*threads);
  opt.item_timeout_seconds = *timeout;
  reward::RewardService service(opt, judge.get(), &metrics);

  grpc::ServerBuilder builder;
  int port = 0;
  const std::string listen = *flags->Get("listen");
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(256 << 20);  // Batches of long completions.
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0)
    return ReportStartupFailure("flywheel-reward",
                                absl::UnavailableError(absl::StrCat("cannot listen on ", listen)));
  AnnounceAddress("flywheel-reward", "listening on", listen, port);
  AnnounceAddress("flywheel-reward", "metrics on", *flags->Get("metrics-listen"),
                  (*metrics_server)->port());
  FW_LOG(INFO) << "scoring with " << opt.threads << " workers"
               << (judge ? ", judge at " + *flags->Get("judge") : "");

  const int sig = WaitForStopSignal();
  FW_LOG(INFO) << "signal " << sig << ": shutting down";
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server->Wait();
  return 0;
}
