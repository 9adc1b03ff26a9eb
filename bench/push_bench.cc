// push suite: in-flight weight pushes through the real PushWeights RPC over loopback.
//
// The 4M model and a ~100M one, each served by an in-process gRPC server (127.0.0.1, port 0)
// while it decodes a group of 8; the client streams every tensor as the learner does, twice: the
// second push, into the staging buffer the first one left (as every push after a learner's first
// step), is the one measured. Rows:
// - rollout_weight_push_<size>: GB/s of the push, beside one thread's memcpy bandwidth measured
//   in the same run (goal >= 1.5 GB/s for 100M);
// - rollout_push_stall_<size>: the longest gap between two consecutive engine steps during the
//   push (and the two steps after it), beside the median gap before it (goal <= 2x);
// - rollout_push_swap_100M: the swap itself between two steps (pointer exchange);
// - crc32c_copy_256MB: the receiver's CRC-32C fused with the copy (Crc32cCopy), beside memcpy.
// For the stall and swap rows lower is better.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <latch>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_report.h"
#include "bench/engine_runs.h"
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

constexpr int64_t kChunkBytes = 1 << 20;

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
  double seconds = 0;        // the measured (second) push
  double first_seconds = 0;  // the first push, into freshly allocated memory
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
  // The swap lands at the start of the step after the push completes; waits for two more.
  auto two_steps_after = [&](double t) {
    return log.WaitFor(
        [&](const auto& r) {
          return std::count_if(r.begin(), r.end(),
                               [&](const StepRecord& s) { return s.end > t; }) >= 2;
        },
        120);
  };
  // A first push, timed but not the row: a learner pushes after every step, so the steady state
  // is a push into the buffer the previous one left behind (Engine::TakeStagingBuffer), not into
  // memory the process has never touched.
  const double w0 = Now();
  auto first = PushWeights(stub.get(), config, next, 1);
  fig.first_seconds = Now() - w0;
  bool after = first.ok() && two_steps_after(Now());
  for (float& x : next) x = -x;  // Version 2: the original weights again.
  const double t0 = Now();
  auto response = first.ok() ? PushWeights(stub.get(), config, next, 2) : first;
  const double t1 = Now();
  after = after && two_steps_after(t1);
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
    if (recs[i].end <= w0) {  // Before either push.
      before.push_back(gap);
    } else if (recs[i].end > t0 && after_count < 2) {  // During the measured push, and 2 after.
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
  results->push_back(MakeResult("rollout_weight_push_" + label, f.bytes / f.seconds * 1e-9, "GB/s",
                                "memcpy_1thread", memcpy_bandwidth * 1e-9));
  results->push_back(MakeResult("rollout_push_stall_" + label, f.max_gap * 1e3, "ms",
                                "median_decode_step", f.median_gap * 1e3));
  if (label == "100M") {
    results->push_back(MakeResult("rollout_push_swap_" + label, f.swap_pause * 1e3, "ms",
                                  "median_decode_step", f.median_gap * 1e3));
  }
}

// Bytes per second of Crc32cCopy (the receiving side's check-while-storing) over `bytes`.
double MeasureCrc32cCopyBandwidth(int64_t bytes, int reps) {
  std::vector<uint8_t> src(bytes), dst(bytes, 0);
  for (int64_t i = 0; i < bytes; ++i) src[i] = static_cast<uint8_t>(i * 131);
  uint32_t sink = 0;
  const double seconds =
      BestSeconds(reps, [&] { sink ^= Crc32cCopy(dst.data(), src.data(), bytes); });
  if (sink == 0x12345678u) std::fprintf(stderr, " ");  // Keeps the checksum observable.
  return static_cast<double>(bytes) / seconds;
}

std::vector<BenchResult> RunPushBench(const BenchContext& ctx) {
  std::vector<BenchResult> results;

  const double memcpy_bandwidth = MeasureMemcpyBandwidth(int64_t{256} << 20, ctx.quick ? 2 : 4);
  // The checksum of every pushed byte, fused with its copy into the staging buffer. Over 256 MB
  // both are bound by memory; memcpy's non-temporal stores skip reading the destination first,
  // so a ratio near 1 is not expected, but well above what the push achieves is.
  results.push_back(MakeResult(
      "crc32c_copy_256MB", MeasureCrc32cCopyBandwidth(int64_t{256} << 20, ctx.quick ? 2 : 4) * 1e-9,
      "GB/s", "memcpy_1thread", memcpy_bandwidth * 1e-9));
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
                 "rollout bench: push %s: %lld params, %.1f MB in %.3f s (the first push: %.3f s); "
                 "memcpy %.2f GB/s\n",
                 c.label.c_str(), static_cast<long long>(fig->num_params), fig->bytes * 1e-6,
                 fig->seconds, fig->first_seconds, memcpy_bandwidth * 1e-9);
    AddPushResults(c.label, *fig, memcpy_bandwidth, &results);
  }
  return results;
}

}  // namespace

FW_REGISTER_BENCH("push", "weight push over loopback gRPC while decoding: GB/s and decode stall",
                  RunPushBench);

}  // namespace flywheel::bench
