// flywheel-rollout: serves one model for sampling, scoring and in-flight weight updates.
//
//   flywheel-rollout --model DIR --listen HOST:PORT --metrics-listen HOST:PORT [--threads N]
//                    [--auth-token-file F] [--kv-blocks N] [--block-size N]
//                    [--max-tokens-per-step N] [--max-running N]
//
// Port 0 picks a free port; the chosen addresses are printed on stdout as
//   flywheel-rollout listening on HOST:PORT
//   flywheel-rollout metrics on HOST:PORT
// SIGTERM or SIGINT stops it: in-flight requests fail with UNAVAILABLE, then the server exits.
#include <cstdio>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/base/daemon.h"
#include "common/base/flags.h"
#include "common/base/logging.h"
#include "common/metrics/metrics_server.h"
#include "common/rpc/auth.h"
#include "common/tokenizer/tokenizer.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "rollout_server/rollout_metrics.h"
#include "rollout_server/rollout_service.h"

namespace {

constexpr char kUsage[] =
    "usage: flywheel-rollout --model DIR --listen HOST:PORT --metrics-listen HOST:PORT\n"
    "                        [--threads N] [--auth-token-file F] [--kv-blocks N] [--block-size N]\n"
    "                        [--max-tokens-per-step N] [--max-running N]\n"
    "  --model                 Hugging Face model directory (config.json, *.safetensors,\n"
    "                          optionally tokenizer.json, generation_config.json)\n"
    "  --listen                gRPC address; port 0 picks a free port (printed on stdout)\n"
    "  --metrics-listen        Prometheus /metrics address; port 0 picks a free port\n"
    "  --threads               model worker threads (default: all cores)\n"
    "  --auth-token-file       bearer token required by PushWeights (default: none)\n"
    "  --kv-blocks             KV cache blocks (default 4096)\n"
    "  --block-size            tokens per KV block (default 16)\n"
    "  --max-tokens-per-step   token budget of one engine step (default 2048)\n"
    "  --max-running           sequences decoding at once (default 256)\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace flywheel;
  BlockStopSignals();  // Before any thread starts: the main thread waits for them below.
  int exit_code = 0;
  auto flags =
      Flags::ParseOrUsage("flywheel-rollout", std::vector<std::string>(argv + 1, argv + argc),
                          {"model", "listen", "metrics-listen", "threads", "auth-token-file",
                           "kv-blocks", "block-size", "max-tokens-per-step", "max-running"},
                          {}, {"model", "listen", "metrics-listen"}, kUsage, &exit_code);
  if (!flags) return exit_code;
  rollout::EngineOptions opt;
  auto threads = flags->GetInt("threads", std::max(1u, std::thread::hardware_concurrency()));
  auto kv_blocks = flags->GetInt("kv-blocks", 4096);
  auto block_size = flags->GetInt("block-size", 16);
  auto step_tokens = flags->GetInt("max-tokens-per-step", 2048);
  auto max_running = flags->GetInt("max-running", 256);
  for (const auto* v : {&threads, &kv_blocks, &block_size, &step_tokens, &max_running}) {
    if (!v->ok()) return ReportStartupFailure("flywheel-rollout", v->status());
    if (**v < 1)
      return ReportStartupFailure("flywheel-rollout",
                                  absl::InvalidArgumentError("numeric flags must be >= 1"));
  }
  opt.threads = static_cast<int>(*threads);
  opt.kv_blocks = *kv_blocks;
  opt.block_size = *block_size;
  opt.max_tokens_per_step = *step_tokens;
  opt.max_running = *max_running;

  std::string token;
  if (auto f = flags->Get("auth-token-file")) {
    auto t = rpc::ReadTokenFile(*f);
    if (!t.ok()) return ReportStartupFailure("flywheel-rollout", t.status());
    token = *t;
  }
  const std::string dir = *flags->Get("model");
  auto model = model::Transformer::Load(dir);
  if (!model.ok()) return ReportStartupFailure("flywheel-rollout", model.status());
  std::unique_ptr<tokenizer::Tokenizer> tok;
  if (std::filesystem::exists(std::filesystem::path(dir) / "tokenizer.json")) {
    auto t = tokenizer::Tokenizer::FromFile(dir);
    if (!t.ok()) return ReportStartupFailure("flywheel-rollout", t.status());
    tok = std::move(*t);
  }
  auto generation = model::ReadGenerationConfig(dir);
  if (!generation.ok()) return ReportStartupFailure("flywheel-rollout", generation.status());
  const rollout::SamplingDefaults defaults =
      rollout::MakeSamplingDefaults(generation->has_value() ? &**generation : nullptr, tok.get());
  const int64_t num_params = (*model)->num_params();
  auto engine = rollout::Engine::Create(std::move(*model), opt);
  if (!engine.ok()) return ReportStartupFailure("flywheel-rollout", engine.status());

  auto metrics_server = metrics::MetricsServer::Start(*flags->Get("metrics-listen"));
  if (!metrics_server.ok())
    return ReportStartupFailure("flywheel-rollout", metrics_server.status());
  auto metrics =
      std::make_shared<rollout::RolloutMetrics>(metrics_server->get(), &(*engine)->stats());
  (*metrics_server)->Add(metrics);
  (*engine)->stats().on_step = [m = metrics.get()](double s) { m->ObserveStep(s); };

  rollout::RolloutService service(engine->get(), tok.get(), token, defaults);
  service.on_rpc_done = [m = metrics.get()](const std::string& method, const grpc::Status& st) {
    m->CountRpc(method, st);
  };
  grpc::ServerBuilder builder;
  int port = 0;
  const std::string listen = *flags->Get("listen");
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  // Weight pushes of large models arrive in chunks; bound a single message, not the stream.
  builder.SetMaxReceiveMessageSize(64 << 20);
  builder.SetMaxSendMessageSize(256 << 20);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0)
    return ReportStartupFailure("flywheel-rollout",
                                absl::UnavailableError(absl::StrCat("cannot listen on ", listen)));
  AnnounceAddress("flywheel-rollout", "listening on", listen, port);
  AnnounceAddress("flywheel-rollout", "metrics on", *flags->Get("metrics-listen"),
                  (*metrics_server)->port());
  FW_LOG(INFO) << "serving " << dir << " (" << num_params << " parameters, " << opt.threads
               << " threads, " << opt.kv_blocks << " KV blocks of " << opt.block_size
               << (tok ? ", tokenizer" : ", no tokenizer")
               << (generation->has_value() ? ", generation_config.json" : "") << ")";

  const int sig = WaitForStopSignal();
  FW_LOG(INFO) << "signal " << sig << ": shutting down";
  (*engine)->Shutdown();  // Fails in-flight requests with UNAVAILABLE; their RPCs finish now.
  // Only streams still being read (weight pushes) can be left; a second of grace is plenty.
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server->Wait();
  FW_LOG(INFO) << "stopped";
  return 0;
}
