// flywheel-bench: every figure is printed beside an anchor measured in the same run on the same
// machine (OpenBLAS, PyTorch, a JavaScript tokenizer, the memory roofline), because the machines
// are shared and noisy; the ratio is the number to quote.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace flywheel::bench {

struct BenchResult {
  std::string name;         // e.g. "gemm_2048x512x1536"
  double value = 0;         // flywheel's figure
  std::string unit;         // e.g. "GFLOP/s"
  std::string anchor;       // what it is compared with, e.g. "openblas_sgemm"
  double anchor_value = 0;  // the anchor's figure in the same unit
  double ratio = 0;         // value / anchor_value (higher is better for flywheel)
};

struct BenchContext {
  int threads = 2;                          // --threads
  bool quick = false;                       // --quick: fewer repetitions (smoke runs in tests)
  std::string python = "/usr/bin/python3";  // interpreter with torch, for PyTorch anchors
  std::string source_dir;                   // repository root (for bench/*.py scripts and data)
};

using BenchFn = std::function<std::vector<BenchResult>(const BenchContext&)>;

// Registers a suite under `name` at static-initialisation time; see FW_REGISTER_BENCH.
bool RegisterBench(const std::string& name, const std::string& help, BenchFn fn);

// Runs fn `reps` times after one warm-up and returns the fastest wall time in seconds.
double BestSeconds(int reps, const std::function<void()>& fn);

// Builds a result, computing the ratio (value / anchor_value, or 0 if the anchor is 0).
BenchResult MakeResult(std::string name, double value, std::string unit, std::string anchor,
                       double anchor_value);

}  // namespace flywheel::bench

#define FW_BENCH_CONCAT_INNER_(a, b) a##b
#define FW_BENCH_CONCAT_(a, b) FW_BENCH_CONCAT_INNER_(a, b)
#define FW_REGISTER_BENCH(name, help, fn)                              \
  static const bool FW_BENCH_CONCAT_(fw_bench_registered_, __LINE__) = \
      ::flywheel::bench::RegisterBench(name, help, fn)
