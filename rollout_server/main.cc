// flywheel-rollout: serves one model, or several named ones sharing its KV cache, for sampling,
// scoring and in-flight weight updates.
//
//   flywheel-rollout --model [NAME=]DIR [--model NAME=DIR ...] --listen HOST:PORT
//                    --metrics-listen HOST:PORT [--threads N] [--auth-token-file F]
//                    [--memory-fraction F | --memory-budget SIZE]
//                    [--kv-blocks N] [--block-size N] [--max-tokens-per-step N] [--max-running N]
//                    [--register LEARNER --advertise HOST:PORT --register-token-file F]
//                    [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]] [--tls-ca FILE]
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
#include "common/rpc/daemon_main.h"
#include "common/tokenizer/tokenizer.h"
#include "rollout_server/kv_budget.h"
#include "rollout_server/registration.h"
#include "rollout_server/rollout_metrics.h"
#include "rollout_server/rollout_service.h"

namespace {

constexpr char kUsage[] =
    "usage: flywheel-rollout --model [NAME=]DIR [--model NAME=DIR ...] --listen HOST:PORT\n"
    "                        --metrics-listen HOST:PORT [--threads N] [--auth-token-file F]\n"
    "                        [--memory-fraction F | --memory-budget SIZE] [--kv-blocks N]\n"
    "                        [--block-size N] [--max-tokens-per-step N] [--max-running N]\n"
    "                        [--register LEARNER] [--advertise HOST:PORT]\n"
    "                        [--register-token-file F]\n"
    "                        [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]]\n"
    "                        [--tls-ca FILE]\n"
    "  --model                 Hugging Face model directory (config.json, *.safetensors,\n"
    "                          optionally tokenizer.json, generation_config.json); repeat as\n"
    "                          NAME=DIR to serve several\n"
    "                          named models (requests name one; the first is the default). They\n"
    "                          share the KV blocks, so they need the same layers x KV width\n"
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
    "  --register              a learner's address: announce this server to it (and again every\n"
    "                          few seconds) so jobs that use registered servers take it up\n"
    "  --advertise             the address to announce (default: --listen with the bound port,\n"
    "                          the host name in place of 0.0.0.0)\n"
    "  --register-token-file   the learner's admin token, when it has tokens\n"
    "  --tls-cert FILE         serve gRPC over TLS with this certificate (PEM), with --tls-key;\n"
    "                          also presented to a learner that requires mutual TLS\n"
    "  --tls-key FILE          its private key (PEM)\n"
    "  --tls-client-ca FILE    mutual TLS: require client certificates signed by this CA\n"
    "  --metrics-tls           serve /metrics over HTTPS with --tls-cert/--tls-key (and ask\n"
    "                          scrapers for a certificate under --tls-client-ca)\n"
    "  --tls-ca FILE           reach the --register learner over TLS, verifying it with this CA\n";

struct ModelFlag {
  std::string name, dir;
};

// "--model DIR" serves DIR as "default"; "--model NAME=DIR" names it.
std::vector<ModelFlag> ParseModelFlags(const std::vector<std::string>& values) {
  std::vector<ModelFlag> out;
  for (const auto& v : values) {
    const size_t eq = v.find('=');
    if (eq == std::string::npos) {
      out.push_back({values.size() == 1 ? "default" : v, v});
    } else {
      out.push_back({v.substr(0, eq), v.substr(eq + 1)});
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace flywheel;
  constexpr char kProgram[] = "flywheel-rollout";
  int exit_code = 0;
  auto setup =
      rpc::StartDaemon(kProgram, argc, argv,
                       {.valued = {"model", "kv-blocks", "block-size", "max-tokens-per-step",
                                   "max-running", "memory-fraction", "memory-budget", "register",
                                   "advertise", "register-token-file"},
                        .required = {"model"},
                        .auth_token_file = true,
                        .tls_client = true,
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

  std::vector<rollout::NamedModel> models;
  std::vector<std::unique_ptr<tokenizer::Tokenizer>> tokenizers;
  std::vector<std::string> names;
  std::vector<rollout::SamplingDefaults> defaults;
  std::vector<model::ModelConfig> configs;
  int64_t num_params = 0, weight_bytes = 0;
  // Packed here, on every core, rather than by the engine: the budget below counts them.
  auto pack_pool = std::make_unique<ThreadPool>(opt.threads);
  for (const auto& [name, dir] : ParseModelFlags(flags.GetAll("model"))) {
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
    defaults.push_back(
        rollout::MakeSamplingDefaults(generation->has_value() ? &**generation : nullptr));
    (*model)->PackInferenceWeights(pack_pool.get());
    num_params += (*model)->num_params();
    weight_bytes += (*model)->WeightBytes();
    configs.push_back((*model)->config());
    FW_LOG(INFO) << "model \"" << name << "\": " << dir << " (" << (*model)->num_params()
                 << " parameters" << (tok ? ", tokenizer" : ", no tokenizer")
                 << (generation->has_value() ? ", generation_config.json)" : ")");
    names.push_back(name);
    models.push_back({name, std::move(*model)});
    tokenizers.push_back(std::move(tok));
  }
  pack_pool.reset();
  std::string register_token;
  if (auto f = flags.Get("register-token-file")) {
    auto t = rpc::ReadTokenFile(*f);
    if (!t.ok()) return ReportStartupFailure(kProgram, t.status());
    register_token = *t;
  }
  auto budget = rollout::MemoryBudgetFromFlags(flags);
  if (!budget.ok()) return ReportStartupFailure(kProgram, budget.status());
  // The models share the budget: all their weights count, and a push to each may be staged at
  // once.
  auto plan = rollout::PlanKvCache({.config = configs[0],
                                    .more_configs = {configs.begin() + 1, configs.end()},
                                    .weight_bytes = weight_bytes,
                                    .staging_bytes = weight_bytes,
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
  auto engine = rollout::Engine::Create(std::move(models), opt);
  if (!engine.ok()) return ReportStartupFailure(kProgram, engine.status());
  // The metrics server holds collectables weakly: this one lives as long as main().
  auto engine_metrics = std::make_shared<rollout::EngineStatsCollector>(engine->get());
  (*metrics_server)->Add(engine_metrics);

  std::vector<const tokenizer::Tokenizer*> toks;
  for (const auto& t : tokenizers) toks.push_back(t.get());
  rollout::RolloutService service(
      engine->get(), toks, setup->auth_token,
      [m = &metrics](const std::string& method, const grpc::Status& st) {
        m->CountRpc(method, st);
      },
      defaults);
  // Weight pushes of large models arrive in chunks; bound a single message, not the stream.
  int port = 0;
  auto server = rpc::StartServer(kProgram, *flags.Get("listen"), {&service},
                                 {.max_receive_message_bytes = 64 << 20,
                                  .max_send_message_bytes = 256 << 20,
                                  .tls = setup->server_tls},
                                 &port);
  if (!server.ok()) return ReportStartupFailure(kProgram, server.status());
  AnnounceAddress(kProgram, "metrics on", metrics_listen, (*metrics_server)->port());
  FW_LOG(INFO) << "serving " << names.size() << " model(s), " << num_params << " parameters, "
               << opt.threads << " threads, " << opt.kv_blocks << " KV blocks of "
               << opt.block_size;
  std::unique_ptr<rollout::Registration> registration;
  if (auto learner = flags.Get("register")) {
    registration = std::make_unique<rollout::Registration>(rollout::RegistrationOptions{
        .learner = *learner,
        .address =
            rollout::AdvertisedAddress(flags.GetOr("advertise", ""), *flags.Get("listen"), port),
        .models = names,
        .bearer_token = register_token,
        .tls = setup->client_tls});
  }

  const int sig = WaitForStopSignal();
  FW_LOG(INFO) << "signal " << sig << ": shutting down";
  if (registration) registration->Stop();  // Jobs drop this server before its requests fail.
  (*engine)->Shutdown();  // Fails in-flight requests with UNAVAILABLE; their RPCs finish now.
  // Only streams still being read (weight pushes) can be left; a second of grace is plenty.
  (*server)->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  (*server)->Wait();
  FW_LOG(INFO) << "stopped";
  return 0;
}
