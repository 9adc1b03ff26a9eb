// rollout suite: the rollout engine's decode throughput, run in-process on the 4M-parameter
// "small" preset at batch 1 (one request, n=1), 8 (one request, n=8) and 64 (eight requests of
// n=8), each beside the DRAM roofline measured in the same run (a decode step reads every weight
// once, so at batch B it cannot beat B × read bandwidth ÷ weight bytes).
//
// Two rows say how decode scales with the batch:
// - rollout_decode_b64_vs_b8: tokens/s at batch 64 over tokens/s at batch 8 (goal >= 4);
// - rollout_decode_b64_flops: the FLOP/s of the batch-64 decode, counting the matrix products
//   (2 FLOPs per linear weight per token, LM head included), beside the FLOP/s of the very same
//   products (one step's GEMMs at M = 64, weights pre-packed as the engine holds them) run back
//   to back on the same pool: the share of a step that is matrix work (goal >= 0.5).
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_report.h"
#include "bench/engine_runs.h"
#include "bench/memory_bandwidth.h"
#include "common/kernels/cpu/matmul.h"
#include "common/model/transformer.h"

namespace flywheel::bench {
namespace {

// FLOPs of the matrix products of one decoded token: every linear weight once (the LM head too,
// which the embedding table shares when tied).
double MatmulFlopsPerToken(const model::ModelConfig& c) {
  const double per_layer = static_cast<double>(c.hidden_size) * c.qkv_dim() +
                           static_cast<double>(c.q_dim()) * c.hidden_size +
                           2.0 * c.hidden_size * c.intermediate_size +
                           static_cast<double>(c.intermediate_size) * c.hidden_size;
  return 2.0 * (c.num_layers * per_layer + static_cast<double>(c.vocab_size) * c.hidden_size);
}

// FLOP/s of one decode step's matrix products at M rows, alone: the engine's GEMMs with packed
// random weights, in the model's order, on `threads` threads.
double StepGemmFlops(const model::ModelConfig& c, int64_t M, int threads, bool quick) {
  ThreadPool pool(threads);
  struct Shape {
    int64_t K, N;
  };
  std::vector<Shape> shapes;
  for (int64_t l = 0; l < c.num_layers; ++l) {
    shapes.push_back({c.hidden_size, c.qkv_dim()});
    shapes.push_back({c.q_dim(), c.hidden_size});
    shapes.push_back({c.hidden_size, 2 * c.intermediate_size});
    shapes.push_back({c.intermediate_size, c.hidden_size});
  }
  shapes.push_back({c.hidden_size, c.vocab_size});
  std::vector<kernels::PackedMatrix> packed(shapes.size());
  int64_t max_k = 0, max_n = 0;
  for (size_t i = 0; i < shapes.size(); ++i) {
    std::vector<float> w(shapes[i].K * shapes[i].N);
    for (size_t j = 0; j < w.size(); ++j) w[j] = static_cast<float>((j * 7919) % 1000) * 1e-4f;
    kernels::pack_linear_weight(&packed[i], w.data(), shapes[i].K, shapes[i].N, &pool);
    max_k = std::max(max_k, shapes[i].K);
    max_n = std::max(max_n, shapes[i].N);
  }
  std::vector<float> x(M * max_k, 0.01f), y(M * max_n);
  const double seconds = BestSeconds(quick ? 2 : 20, [&] {
    for (const auto& p : packed) {
      kernels::matmul_forward_packed(y.data(), x.data(), p, nullptr, M, &pool);
    }
  });
  return MatmulFlopsPerToken(c) * static_cast<double>(M) / seconds;
}

std::vector<BenchResult> RunRolloutBench(const BenchContext& ctx) {
  std::vector<BenchResult> results;
  // 1 GiB is ten times this machine's 105 MiB L3 (and 32 times the 32 MiB of the others).
  const double read_bandwidth = MeasureReadBandwidth(
      ctx.quick ? (int64_t{512} << 20) : (int64_t{1} << 30), ctx.threads, ctx.quick ? 2 : 4);
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
  double rate[3] = {};
  int i = 0;
  for (const Shape s : {Shape{1, 1}, Shape{1, 8}, Shape{8, 8}}) {
    const int64_t batch = s.requests * s.n;
    rate[i] = BestDecodeRate(engine->get(), &log, s.requests, s.n, max_tokens, reps, budget);
    results.push_back(MakeResult(absl::StrCat("decode_4M_batch", batch), rate[i], "tok/s",
                                 "dram_roofline", batch * read_bandwidth / bytes_per_step));
    ++i;
  }
  results.push_back(
      MakeResult("rollout_decode_b64_vs_b8", rate[2], "tok/s", "decode_4M_batch8", rate[1]));
  const double gemm = StepGemmFlops(*config, 64, ctx.threads, ctx.quick);
  // The products alone at batch 8 bound what batch 64 can gain over it.
  const double gemm8 = StepGemmFlops(*config, 8, ctx.threads, ctx.quick);
  std::fprintf(stderr,
               "rollout bench: one step's matrix products alone: %.1f GFLOP/s at M = 64, %.1f at "
               "M = 8 (%.2fx)\n",
               gemm * 1e-9, gemm8 * 1e-9, gemm / gemm8);
  results.push_back(MakeResult("rollout_decode_b64_flops",
                               rate[2] * MatmulFlopsPerToken(*config) * 1e-9, "GFLOP/s",
                               "gemm_same_products_m64", gemm * 1e-9));
  return results;
}

}  // namespace

FW_REGISTER_BENCH("rollout",
                  "engine decode tok/s at batch 1/8/64 vs the DRAM roofline; scaling with batch",
                  RunRolloutBench);

}  // namespace flywheel::bench
