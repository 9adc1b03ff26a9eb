// qwen3 suite: the rollout engine on Qwen3-0.6B's architecture (the qwen3-0.6b preset: 151,936
// vocabulary, 28 layers, head_dim 128, tied embeddings), random weights, in-process.
//
// Rows so far (the load-time, Score and training-step rows are not measured yet):
// - qwen3_0.6b_decode_b1: decode tokens/s of one sample beside the DRAM roofline (a step reads
//   every weight once: read bandwidth ÷ weight bytes; goal >= 0.8);
// - qwen3_0.6b_decode_b16: one request of n=16 beside 16 × that roofline.
// Peak resident memory is printed beside the weights' bytes.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_report.h"
#include "bench/engine_runs.h"
#include "bench/memory_bandwidth.h"
#include "common/model/checkpoint.h"
#include "common/model/transformer.h"
#include "rollout_server/engine.h"

namespace flywheel::bench {
namespace {

std::vector<BenchResult> RunQwen3Bench(const BenchContext& ctx) {
  std::vector<BenchResult> results;
  auto config = model::PresetConfig("qwen3-0.6b");
  if (!config.ok()) {
    std::fprintf(stderr, "qwen3 bench: %s\n", config.status().ToString().c_str());
    return results;
  }
  const double read_bandwidth = MeasureReadBandwidth(int64_t{1} << 30, ctx.threads, 2);
  auto tf = model::Transformer::Create(FastRandomModel(*config, 3));
  if (!tf.ok()) {
    std::fprintf(stderr, "qwen3 bench: %s\n", tf.status().ToString().c_str());
    return results;
  }
  const int64_t num_params = (*tf)->num_params();
  const int64_t max_tokens = ctx.quick ? 4 : 16;
  StepLog log;  // Outlives the engine, whose thread writes to it.
  rollout::EngineOptions opt;
  opt.threads = ctx.threads;
  // 16 samples of a 16-token prompt and max_tokens each, in blocks of 16, plus copy-on-write room.
  opt.kv_blocks = 16 * ((kPromptTokens + max_tokens) / opt.block_size + 2);
  log.Attach(&opt);
  auto engine = rollout::Engine::Create(std::move(*tf), opt);
  if (!engine.ok()) {
    std::fprintf(stderr, "qwen3 bench: %s\n", engine.status().ToString().c_str());
    return results;
  }
  // The weights a decode step reads: every parameter once (the tied table as the LM head).
  const double bytes_per_step = static_cast<double>(num_params) * 4;
  const double budget = ctx.quick ? 5.0 : 30.0;
  for (const int64_t n : {int64_t{1}, int64_t{16}}) {
    const double rate = BestDecodeRate(engine->get(), &log, 1, n, max_tokens, 2, budget);
    results.push_back(MakeResult(absl::StrCat("qwen3_0.6b_decode_b", n), rate, "tok/s",
                                 "dram_roofline", n * read_bandwidth / bytes_per_step));
  }
  std::fprintf(stderr,
               "qwen3 bench: %lld params (%.2f GB fp32); read bandwidth %.2f GB/s; peak resident "
               "%.2f GB (weights and their packed copy, the KV cache, the bandwidth buffer)\n",
               static_cast<long long>(num_params), bytes_per_step * 1e-9, read_bandwidth * 1e-9,
               static_cast<double>(PeakResidentBytes()) * 1e-9);
  return results;
}

}  // namespace

FW_REGISTER_BENCH("qwen3",
                  "Qwen3-0.6B's shape: decode tok/s at batch 1 and 16 vs the DRAM roofline",
                  RunQwen3Bench);

}  // namespace flywheel::bench
