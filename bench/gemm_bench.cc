// gemm suite: flywheel's batch-invariant linear layer (y = x · Wᵀ, W (N, K) row-major) against
// OpenBLAS sgemm on the same operands and thread count.
//
// Training shape (M = 2048 tokens): matmul_forward, packing included on every call as in training.
// Decode shapes (M = 1, 4, 16): matmul_forward_packed with weights packed once, as the rollout
// engine runs them; the unpacked matmul_forward is printed as well.
#include <cblas.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_report.h"
#include "bench/blas_core.h"
#include "common/base/thread_pool.h"
#include "common/kernels/cpu/matmul.h"

namespace flywheel::bench {
namespace {

std::vector<float> RandomVector(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Enough repetitions that the fastest one is stable: about 0.5 s of work per measurement.
int RepsFor(const BenchContext& ctx, double flops) {
  if (ctx.quick) return 2;
  const int reps = static_cast<int>(0.5 * 50e9 / flops);
  return std::clamp(reps, 5, 2000);
}

std::vector<BenchResult> RunGemmBench(const BenchContext& ctx) {
  openblas_set_num_threads(ctx.threads);
  ThreadPool pool(ctx.threads);
  constexpr int64_t K = 512;
  constexpr int64_t N = 1536;
  const std::vector<float> w = RandomVector(N * K, 1);
  kernels::PackedMatrix packed;
  kernels::pack_linear_weight(&packed, w.data(), K, N, &pool);

  std::vector<BenchResult> results;
  // The anchor's name carries the kernel family that ran (see blas_core.h).
  const std::string anchor = "openblas_sgemm_" + OpenBlasCoreName();
  auto measure = [&](int64_t M, bool use_packed, const std::string& name) {
    const std::vector<float> x = RandomVector(M * K, 2);
    std::vector<float> y(M * N);
    const double flops = 2.0 * M * N * K;
    auto run_ours = [&] {
      if (use_packed) {
        kernels::matmul_forward_packed(y.data(), x.data(), packed, nullptr, M, &pool);
      } else {
        kernels::matmul_forward(y.data(), x.data(), w.data(), nullptr, M, K, N, &pool);
      }
    };
    auto run_blas = [&] {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, x.data(), K, w.data(), K,
                  0.0f, y.data(), N);
    };
    // The machines are shared: alternating short rounds exposes both sides to the same load.
    const int rounds = ctx.quick ? 1 : 8;
    const int reps = RepsFor(ctx, flops) / rounds + 1;
    double ours = 1e300;
    double blas = 1e300;
    for (int r = 0; r < rounds; ++r) {
      ours = std::min(ours, BestSeconds(reps, run_ours));
      blas = std::min(blas, BestSeconds(reps, run_blas));
    }
    results.push_back(
        MakeResult(name, flops / ours * 1e-9, "GFLOP/s", anchor, flops / blas * 1e-9));
  };

  measure(2048, false, "matmul_2048x512x1536");
  for (int64_t M : {1, 4, 16}) {
    measure(M, true, "matmul_packed_" + std::to_string(M) + "x512x1536");
  }
  for (int64_t M : {1, 4, 16}) {
    measure(M, false, "matmul_" + std::to_string(M) + "x512x1536");
  }
  return results;
}

}  // namespace

FW_REGISTER_BENCH("gemm", "linear layer GEMM (training and decode shapes) vs OpenBLAS sgemm",
                  RunGemmBench);

}  // namespace flywheel::bench
