// rollout suite: the rollout engine's decode throughput against the memory roofline, and
// in-flight weight pushes through the real PushWeights RPC over loopback.
//
// Decode: the 4M-parameter "small" preset at batch 1 (one request, n=1), 8 (one request, n=8)
// and 64 (eight requests, n=8 each), run by the Engine in-process. The anchor is the DRAM
// roofline measured in the same run: a decode step reads every weight once, so at batch B it
// cannot beat B × read bandwidth ÷ (num_params × 4 bytes).
//
// Weight push: the 4M model and a ~100M one, each served by an in-process gRPC server (127.0.0.1,
// port 0) while it decodes a group of 8; the client streams every tensor as 1 MiB chunks. The
// anchor is one thread's memcpy bandwidth (see MeasureMemcpyBandwidth). The pause is the longest
// gap between two consecutive engine steps during the push, beside the median gap before it.
//
// Ratios of the time and pause lines are value / anchor as everywhere, so for them lower is better.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <latch>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_report.h"
#include "bench/memory_bandwidth.h"
#include "common/base/crc32c.h"
#include "common/model/checkpoint.h"
#include "common/model/parameters.h"
#include "common/model/transformer.h"
#include "flywheel/v1/rollout.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "rollout_server/engine.h"
#include "rollout_server/rollout_service.h"

namespace flywheel::bench {
namespace {

namespace v1 = ::flywheel::v1;

constexpr int64_t kPromptTokens = 16;
constexpr int64_t kChunkBytes = 1 << 20;

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::vector<int32_t> RandomPrompt(int64_t vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> dist(0, static_cast<int32_t>(vocab) - 1);
  std::vector<int32_t> p(kPromptTokens);
  for (auto& t : p) t = dist(rng);
  return p;
}

// ~100M parameters in the shape of a small Qwen2: tied embeddings, as the models of this size
// ship, keep it at 100.1M; untied it would be 124.7M.
model::ModelConfig HundredMillionConfig() {
  model::ModelConfig c;
  c.model_type = "qwen2";
  c.vocab_size = 32000;
  c.hidden_size = 768;
  c.num_layers = 12;
  c.num_heads = 12;
  c.num_kv_heads = 4;
  c.head_dim = 64;
  c.intermediate_size = 2048;
  c.max_position_embeddings = 1024;
  c.tie_word_embeddings = true;
  c.attention_bias = true;
  return c;
}

// Random weights without RandomModel's Box-Muller, which takes seconds at 100M parameters:
// uniform in ±0.035 (standard deviation 0.02, the usual init) and unit norms. Timing does not
// depend on the values as long as they are finite.
model::ModelWeights FastRandomModel(const model::ModelConfig& config, uint64_t seed) {
  model::ModelWeights w{config, {}};
  model::ParameterLayout layout(config);
  w.params.resize(layout.num_params());
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (float& v : w.params) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;  // xorshift64
    v = (static_cast<float>(x >> 40) * 0x1.0p-24f - 0.5f) * 0.07f;
  }
  for (const auto& t : layout.tensors()) {
    if (t.name.find("norm") != std::string::npos) {
      std::fill(w.params.begin() + t.offset, w.params.begin() + t.offset + t.numel, 1.0f);
    }
  }
  return w;
}

// What the engine's on_step hook saw: when each step ended and the token counters at that point.
struct StepRecord {
  double end;
  int64_t generated;
  int64_t prefill;
};

// Thread safety: Record() runs on the engine thread; the other methods on any thread.
class StepLog {
 public:
  // The engine's on_step hook; set it in EngineOptions before Engine::Create.
  void Attach(rollout::EngineOptions* options) {
    options->on_step = [this](double, const rollout::EngineStats& stats) {
      std::lock_guard<std::mutex> lock(mu_);
      records_.push_back({Now(), stats.generated_tokens.load(), stats.prefill_tokens.load()});
    };
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    records_.clear();
  }
  std::vector<StepRecord> Snapshot() {
    std::lock_guard<std::mutex> lock(mu_);
    return records_;
  }
  // Blocks (polling) until pred(records) holds or `timeout` seconds pass; false on timeout.
  template <typename Pred>
  bool WaitFor(Pred pred, double timeout) {
    const double deadline = Now() + timeout;
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (pred(records_)) return true;
      }
      if (Now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

 private:
  std::mutex mu_;
  std::vector<StepRecord> records_;
};

// Generated tokens per second of the decode phase of one batch: `requests` requests of n samples
// submitted together, each generating max_tokens. The decode phase runs from the end of the last
// step that held a prefill to the end of the last step, so prompt processing, and the first token
// of each sample (drawn from the prefill's logits), are outside it. 0 if the run failed.
double DecodeTokensPerSecond(rollout::Engine* engine, StepLog* log, int requests, int64_t n,
                             int64_t max_tokens, uint32_t seed) {
  log->Clear();
  std::latch done(requests);
  std::atomic<bool> failed{false};
  for (int r = 0; r < requests; ++r) {
    rollout::GenerateParams p;
    p.prompt = RandomPrompt(engine->config().vocab_size, seed * 1000 + r);
    p.n = n;
    p.max_tokens = max_tokens;
    p.sampling.temperature = 1.0f;
    p.sampling.seed = seed * 1000 + r;
    absl::Status st = engine->Generate(std::move(p), [&](auto result) {
      if (!result.ok()) failed = true;
      done.count_down();
    });
    if (!st.ok()) {
      std::fprintf(stderr, "rollout bench: %s\n", st.ToString().c_str());
      failed = true;
      done.count_down();
    }
  }
  done.wait();
  const std::vector<StepRecord> recs = log->Snapshot();
  if (failed || recs.empty()) return 0;
  size_t first = 0;  // The last step whose prefill counter moved.
  for (size_t i = 0; i < recs.size(); ++i) {
    if (i == 0 || recs[i].prefill != recs[i - 1].prefill) first = i;
  }
  const StepRecord& a = recs[first];
  const StepRecord& b = recs.back();
  if (b.end <= a.end) return 0;
  return static_cast<double>(b.generated - a.generated) / (b.end - a.end);
}

std::vector<BenchResult> RunDecode(const BenchContext& ctx, double read_bandwidth) {
  std::vector<BenchResult> results;
  auto config = model::PresetConfig("small");
  if (!config.ok()) {
    std::fprintf(stderr, "rollout bench: %s\n", config.status().ToString().c_str());
    return results;
  }
  auto tf = model::Transformer::Create(model::RandomModel(*config, 1));
  if (!tf.ok()) {
    std::fprintf(stderr, "rollout bench: %s\n", tf.status().ToString().c_str());
    return results;
  }
  const int64_t num_params = (*tf)->num_params();
  StepLog log;  // Declared before the engine, whose thread writes to it until it is destroyed.
  rollout::EngineOptions opt;
  opt.threads = ctx.threads;
  opt.kv_blocks = 2048;  // Batch 64 needs ~640 blocks of 16 for 16 + 128 tokens each.
  log.Attach(&opt);
  auto engine = rollout::Engine::Create(std::move(*tf), opt);
  if (!engine.ok()) {
    std::fprintf(stderr, "rollout bench: %s\n", engine.status().ToString().c_str());
    return results;
  }

  // All weights once per step, num_params × 4 bytes (the embedding table is read one row per
  // token, so the true figure is ~13% lower for this model and the roofline slightly higher).
  // The 16 MB of the small model fit in this machine's last-level cache, so the engine can beat
  // this DRAM roofline: it is a conservative anchor, and the ratio may exceed 1.
  const double bytes_per_step = static_cast<double>(num_params) * 4;
  std::fprintf(stderr,
               "rollout bench: read bandwidth %.2f GB/s (%d threads); small model %lld params, "
               "%.1f MB of weights per decode step\n",
               read_bandwidth * 1e-9, ctx.threads, static_cast<long long>(num_params),
               bytes_per_step * 1e-6);
  const int64_t max_tokens = ctx.quick ? 32 : 128;
  const int reps = ctx.quick ? 1 : 4;
  // Seconds the runs of one batch size may take: on a loaded machine a step can be 100x slower
  // than on an idle one, and the suite should still end in about its usual time.
  const double budget = ctx.quick ? 1.0 : 8.0;
  struct Shape {
    int requests;
    int64_t n;
  };
  for (const Shape s : {Shape{1, 1}, Shape{1, 8}, Shape{8, 8}}) {
    const int64_t batch = s.requests * s.n;
    // A short warm-up run first (thread wake-up, page faults of the KV cache); its rate sizes
    // the measured runs to the time budget.
    const double warm = DecodeTokensPerSecond(engine->get(), &log, s.requests, s.n, 3, 99);
    const int64_t tokens = std::clamp<int64_t>(
        static_cast<int64_t>(budget / reps * warm / static_cast<double>(batch)), 4, max_tokens);
    if (tokens < max_tokens) {
      std::fprintf(stderr,
                   "rollout bench: batch %lld decodes at %.1f tok/s; %lld tokens per sample to "
                   "stay in the time budget\n",
                   static_cast<long long>(batch), warm, static_cast<long long>(tokens));
    }
    double best = 0;
    const double start = Now();
    for (int r = 0; r < reps && (r == 0 || Now() - start < budget); ++r) {
      best = std::max(best, DecodeTokensPerSecond(engine->get(), &log, s.requests, s.n, tokens,
                                                  static_cast<uint32_t>(r + 1)));
    }
    results.push_back(MakeResult(absl::StrCat("decode_4M_batch", batch), best, "tok/s",
                                 "dram_roofline", batch * read_bandwidth / bytes_per_step));
  }
  return results;
}

// Sends `params` (ParameterLayout(config) order) as `version` in 1 MiB chunks through
// PushWeights; returns the response or the RPC's error.
absl::StatusOr<v1::PushWeightsResponse> PushWeights(v1::RolloutService::Stub* stub,
                                                    const model::ModelConfig& config,
                                                    const std::vector<float>& params,
                                                    int64_t version) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  v1::PushWeightsResponse response;
  auto writer = stub->PushWeights(&context, &response);
  model::ParameterLayout layout(config);
  v1::WeightChunk chunk;
  bool writing = true;
  for (const auto& t : layout.tensors()) {
    const char* base = reinterpret_cast<const char*>(params.data() + t.offset);
    for (int64_t off = 0; writing && off < t.numel * 4; off += kChunkBytes) {
      const int64_t len = std::min<int64_t>(kChunkBytes, t.numel * 4 - off);
      chunk.set_version(version);
      chunk.set_tensor(t.name);
      chunk.set_offset(off);
      chunk.set_data(base + off, len);
      chunk.set_crc32c(Crc32c(base + off, len));
      writing = writer->Write(chunk);  // false: the server ended the stream early.
    }
  }
  writer->WritesDone();
  grpc::Status st = writer->Finish();
  if (!st.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(st.error_code()), st.error_message());
  }
  return response;
}

struct PushFigures {
  int64_t num_params = 0;
  double seconds = 0;
  double bytes = 0;
  double swap_pause = 0;  // EngineStats::max_swap_pause: swap plus repacking of the weights
  double max_gap = 0;     // longest time between two step ends during the push
  double median_gap = 0;  // median time between step ends before the push
};

// Serves `config` (random weights) over gRPC on 127.0.0.1, starts a group of 8 samples decoding,
// and once enough decode steps have run to know their usual length pushes new weights through
// the RPC.
absl::StatusOr<PushFigures> PushWhileDecoding(const model::ModelConfig& config,
                                              const BenchContext& ctx) {
  constexpr int64_t kSamples = 8;
  model::ModelWeights weights = FastRandomModel(config, 7);
  // The pushed version: the same values negated, a valid model with different bits; cheaper
  // than drawing a second random model of 100M parameters.
  std::vector<float> next = weights.params;
  for (float& x : next) x = -x;
  auto tf = model::Transformer::Create(std::move(weights));
  if (!tf.ok()) return tf.status();
  PushFigures fig;
  fig.num_params = (*tf)->num_params();
  // Both outlive the engine: its thread writes to the log and counts the latch down.
  StepLog log;
  std::latch generation_done(1);
  rollout::EngineOptions opt;
  opt.threads = ctx.threads;
  opt.kv_blocks = kSamples * (config.max_position_embeddings / opt.block_size + 1) + 8;
  log.Attach(&opt);
  auto engine = rollout::Engine::Create(std::move(*tf), opt);
  if (!engine.ok()) return engine.status();

  rollout::RolloutService service(engine->get(), {}, "");
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(4 * kChunkBytes);  // A chunk plus its envelope, with room.
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) return absl::UnavailableError("cannot listen on 127.0.0.1");
  auto stub = v1::RolloutService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));

  // A generation longer than the push: the whole context. It is cut off by the shutdown below.
  rollout::GenerateParams p;
  p.prompt = RandomPrompt(config.vocab_size, 5);
  p.n = kSamples;
  p.max_tokens = config.max_position_embeddings - kPromptTokens;
  p.sampling.seed = 5;
  absl::Status gen = (*engine)->Generate(std::move(p), [&](auto) { generation_done.count_down(); });
  if (!gen.ok()) return gen;
  // At least 5 decode steps for the median; 40, or half a second of them, when they are fast.
  auto enough = [](const std::vector<StepRecord>& r) {
    return r.size() >= 6 && (r.size() >= 41 || r.back().end - r[1].end >= 0.5);
  };
  if (!log.WaitFor(enough, 120)) {
    return absl::DeadlineExceededError("the engine did not start decoding");
  }
  const double t0 = Now();
  auto response = PushWeights(stub.get(), config, next, 1);
  const double t1 = Now();
  // The swap lands at the start of the step after the push completes; wait for two more.
  const bool after = log.WaitFor(
      [&](const auto& r) {
        return std::count_if(r.begin(), r.end(), [&](const StepRecord& s) { return s.end > t1; }) >=
               2;
      },
      120);
  const std::vector<StepRecord> recs = log.Snapshot();
  fig.swap_pause = (*engine)->stats().max_swap_pause.load();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  (*engine)->Shutdown();  // Fails the generation with UNAVAILABLE, as intended.
  generation_done.wait();
  if (!response.ok()) return response.status();
  if (!after) return absl::DeadlineExceededError("decoding stopped during the push");

  fig.seconds = t1 - t0;
  fig.bytes = static_cast<double>(response->bytes());
  std::vector<double> before;
  int after_count = 0;
  // Record 0 is the prefill step; the gaps that follow are decode steps.
  for (size_t i = 2; i < recs.size(); ++i) {
    const double gap = recs[i].end - recs[i - 1].end;
    if (recs[i].end <= t0) {
      before.push_back(gap);
    } else if (after_count < 2) {  // Gaps ending during the push, and the two after it.
      fig.max_gap = std::max(fig.max_gap, gap);
      if (recs[i].end > t1) ++after_count;
    }
  }
  if (before.empty()) return absl::InternalError("no decode steps before the push");
  std::nth_element(before.begin(), before.begin() + before.size() / 2, before.end());
  fig.median_gap = before[before.size() / 2];
  return fig;
}

void AddPushResults(const std::string& label, const PushFigures& f, double memcpy_bandwidth,
                    std::vector<BenchResult>* results) {
  const std::string name = "weight_push_" + label;
  results->push_back(MakeResult(name, f.bytes / f.seconds * 1e-9, "GB/s", "memcpy_1thread",
                                memcpy_bandwidth * 1e-9));
  results->push_back(MakeResult(name + "_time", f.seconds, "s", "memcpy_1thread_time",
                                f.bytes / memcpy_bandwidth));
  results->push_back(MakeResult(name + "_step_pause", f.max_gap * 1e3, "ms", "median_step_before",
                                f.median_gap * 1e3));
  results->push_back(MakeResult(name + "_swap", f.swap_pause * 1e3, "ms", "median_step_before",
                                f.median_gap * 1e3));
}

std::vector<BenchResult> RunRolloutBench(const BenchContext& ctx) {
  // 1 GiB is ten times this machine's 105 MiB L3 (and 32 times the 32 MiB of the others).
  const double read_bandwidth = MeasureReadBandwidth(
      ctx.quick ? (int64_t{512} << 20) : (int64_t{1} << 30), ctx.threads, ctx.quick ? 2 : 4);
  std::vector<BenchResult> results = RunDecode(ctx, read_bandwidth);

  const double memcpy_bandwidth = MeasureMemcpyBandwidth(int64_t{256} << 20, ctx.quick ? 2 : 4);
  struct PushCase {
    std::string label;
    model::ModelConfig config;
  };
  std::vector<PushCase> cases;
  if (auto small = model::PresetConfig("small"); small.ok()) cases.push_back({"4M", *small});
  cases.push_back({"100M", HundredMillionConfig()});
  for (const auto& c : cases) {
    auto fig = PushWhileDecoding(c.config, ctx);
    if (!fig.ok()) {
      std::fprintf(stderr, "rollout bench: push %s: %s\n", c.label.c_str(),
                   fig.status().ToString().c_str());
      continue;
    }
    std::fprintf(stderr,
                 "rollout bench: push %s: %lld params, %.1f MB in %.3f s; memcpy %.2f GB/s\n",
                 c.label.c_str(), static_cast<long long>(fig->num_params), fig->bytes * 1e-6,
                 fig->seconds, memcpy_bandwidth * 1e-9);
    AddPushResults(c.label, *fig, memcpy_bandwidth, &results);
  }
  return results;
}

}  // namespace

FW_REGISTER_BENCH("rollout",
                  "engine decode tok/s vs the DRAM roofline; weight push over loopback gRPC",
                  RunRolloutBench);

}  // namespace flywheel::bench
