// flywheel-rollout: serves one model for sampling, scoring and in-flight weight updates.
//
//   flywheel-rollout --model DIR --listen HOST:PORT --metrics-listen HOST:PORT [--threads N]
//                    [--auth-token-file F] [--memory-fraction F | --memory-budget SIZE]
//                    [--kv-blocks N] [--block-size N] [--max-tokens-per-step N] [--max-running N]
//                    [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]]
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
#include "common/rpc/daemon_main.h"
#include "common/tokenizer/tokenizer.h"
#include "rollout_server/kv_budget.h"
#include "rollout_server/rollout_metrics.h"
#include "rollout_server/rollout_service.h"

namespace {

constexpr char kUsage[] =
    "usage: flywheel-rollout --model DIR --listen HOST:PORT --metrics-listen HOST:PORT\n"
    "                        [--threads N] [--auth-token-file F]\n"
    "                        [--memory-fraction F | --memory-budget SIZE] [--kv-blocks N]\n"
    "                        [--block-size N] [--max-tokens-per-step N] [--max-running N]\n"
    "                        [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]]\n"
    "  --model                 Hugging Face model directory (config.json, *.safetensors,\n"
    "                          optionally tokenizer.json, generation_config.json)\n"
    "  --listen                gRPC address; port 0 picks a free port (printed on stdout)\n"
    "  --metrics-listen        Prometheus /metrics address; port 0 picks a free port\n"
    "  --threads               model worker threads (default: all cores)\n"
    "  --auth-token-file       bearer token required by PushWeights (default: none)\n"
    "  --memory-fraction       share of this machine's memory the weights, one step's\n"
    "                          activations and the KV cache may use (default 0.5)\n"
    "  --memory-budget         the same as a size (e.g. 8G); overrides --memory-fraction\n"
    "  --kv-blocks             KV cache blocks (default: as many as the budget leaves, capped at\n"
    "                          what --max-running sequences of the full context can use)\n"
    "  --block-size            tokens per KV block (default 16)\n"
    "  --max-tokens-per-step   token budget of one engine step (default 2048)\n"
    "  --max-running           sequences decoding at once (default 256)\n"
    "  --tls-cert FILE         serve gRPC over TLS with this certificate (PEM), with --tls-key\n"
    "  --tls-key FILE          its private key (PEM)\n"
    "  --tls-client-ca FILE    mutual TLS: require client certificates signed by this CA\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace flywheel;
  constexpr char kProgram[] = "flywheel-rollout";
  int exit_code = 0;
  auto setup =
      rpc::StartDaemon(kProgram, argc, argv,
                       {.valued = {"model", "kv-blocks", "block-size", "max-tokens-per-step",
                                   "max-running", "memory-fraction", "memory-budget"},
                        .required = {"model"},
                        .auth_token_file = true,
                        .usage = kUsage},
                       &exit_code);
  if (!setup) return exit_code;
  const Flags& flags = setup->flags;
  rollout::EngineOptions opt;
  auto kv_blocks = flags.GetInt("kv-blocks", 0);
  auto block_size = flags.GetInt("block-size", 16);
  auto step_tokens = flags.GetInt("max-tokens-per-step", 2048);
  auto max_running = flags.GetInt("max-running", 256);
  for (const auto* v : {&kv_blocks, &block_size, &step_tokens, &max_running}) {
    if (!v->ok()) return ReportStartupFailure(kProgram, v->status());
    if (**v < (v == &kv_blocks ? 0 : 1)) {  // --kv-blocks 0: sized from the memory budget.
      return ReportStartupFailure(
          kProgram, absl::InvalidArgumentError("numeric flags must be >= 1 (--kv-blocks >= 0)"));
    }
  }
  opt.threads = setup->threads;
  opt.block_size = *block_size;
  opt.max_tokens_per_step = *step_tokens;
  opt.max_running = *max_running;

  const std::string dir = *flags.Get("model");
  auto model = model::Transformer::Load(dir);
  if (!model.ok()) return ReportStartupFailure(kProgram, model.status());
  std::unique_ptr<tokenizer::Tokenizer> tok;
  if (std::filesystem::exists(std::filesystem::path(dir) / "tokenizer.json")) {
    auto t = tokenizer::Tokenizer::FromFile(dir);
    if (!t.ok()) return ReportStartupFailure(kProgram, t.status());
    tok = std::move(*t);
  }
  auto generation = model::ReadGenerationConfig(dir);
  if (!generation.ok()) return ReportStartupFailure(kProgram, generation.status());
  const rollout::SamplingDefaults defaults =
      rollout::MakeSamplingDefaults(generation->has_value() ? &**generation : nullptr);
  const int64_t num_params = (*model)->num_params();
  {
    // Packed here, on every core, rather than by the engine: the budget below counts them.
    ThreadPool pack_pool(opt.threads);
    (*model)->PackInferenceWeights(&pack_pool);
  }
  auto budget = rollout::MemoryBudgetFromFlags(flags);
  if (!budget.ok()) return ReportStartupFailure(kProgram, budget.status());
  auto plan = rollout::PlanKvCache({.config = (*model)->config(),
                                    .weight_bytes = (*model)->WeightBytes(),
                                    .staging_bytes = (*model)->WeightBytes(),
                                    .budget_bytes = *budget,
                                    .block_size = opt.block_size,
                                    .max_tokens_per_step = opt.max_tokens_per_step,
                                    .max_running = opt.max_running,
                                    .requested_blocks = *kv_blocks});
  if (!plan.ok()) return ReportStartupFailure(kProgram, plan.status());
  opt.kv_blocks = plan->blocks;
  FW_LOG(INFO) << plan->summary;

  const std::string metrics_listen = *flags.Get("metrics-listen");
  auto metrics_server = rpc::StartMetrics(*setup);
  if (!metrics_server.ok()) return ReportStartupFailure(kProgram, metrics_server.status());
  rollout::RolloutMetrics metrics(metrics_server->get());
  opt.on_step = [m = &metrics](double s, const rollout::EngineStats&) { m->ObserveStep(s); };
  auto engine = rollout::Engine::Create(std::move(*model), opt);
  if (!engine.ok()) return ReportStartupFailure(kProgram, engine.status());
  // The metrics server holds collectables weakly: this one lives as long as main().
  auto engine_metrics = std::make_shared<rollout::EngineStatsCollector>(&(*engine)->stats());
  (*metrics_server)->Add(engine_metrics);

  rollout::RolloutService service(
      engine->get(), tok.get(), setup->auth_token,
      [m = &metrics](const std::string& method, const grpc::Status& st) {
        m->CountRpc(method, st);
      },
      defaults);
  // Weight pushes of large models arrive in chunks; bound a single message, not the stream.
  auto server = rpc::StartServer(kProgram, *flags.Get("listen"), {&service},
                                 {.max_receive_message_bytes = 64 << 20,
                                  .max_send_message_bytes = 256 << 20,
                                  .tls = setup->server_tls});
  if (!server.ok()) return ReportStartupFailure(kProgram, server.status());
  AnnounceAddress(kProgram, "metrics on", metrics_listen, (*metrics_server)->port());
  FW_LOG(INFO) << "serving " << dir << " (" << num_params << " parameters, " << opt.threads
               << " threads, " << opt.kv_blocks << " KV blocks of " << opt.block_size
               << (tok ? ", tokenizer" : ", no tokenizer")
               << (generation->has_value() ? ", generation_config.json" : "") << ")";

  const int sig = WaitForStopSignal();
  FW_LOG(INFO) << "signal " << sig << ": shutting down";
  (*engine)->Shutdown();  // Fails in-flight requests with UNAVAILABLE; their RPCs finish now.
  // Only streams still being read (weight pushes) can be left; a second of grace is plenty.
  (*server)->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  (*server)->Wait();
  FW_LOG(INFO) << "stopped";
  return 0;
}
