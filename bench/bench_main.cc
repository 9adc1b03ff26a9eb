// flywheel-bench [--json] [--quick] [--threads N] [--python PATH] [SUITE ...]
// Runs the registered suites (all by default) and prints each figure beside its anchor.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "bench/bench_report.h"
#include "bench/blas_core.h"
#include "nlohmann/json.hpp"

namespace flywheel::bench {
namespace {

struct Suite {
  std::string help;
  BenchFn fn;
};

std::map<std::string, Suite>& Registry() {
  static auto* registry = new std::map<std::string, Suite>();
  return *registry;
}

void PrintUsage() {
  std::fprintf(
      stderr,
      "usage: flywheel-bench [--json] [--quick] [--threads N] [--python PATH] [SUITE ...]\n"
      "suites:\n");
  for (const auto& [name, suite] : Registry()) {
    std::fprintf(stderr, "  %-10s %s\n", name.c_str(), suite.help.c_str());
  }
}

}  // namespace

bool RegisterBench(const std::string& name, const std::string& help, BenchFn fn) {
  Registry()[name] = Suite{help, std::move(fn)};
  return true;
}

double BestSeconds(int reps, const std::function<void()>& fn) {
  fn();  // Warm-up: caches, page faults, thread wake-up.
  double best = 1e300;
  for (int i = 0; i < std::max(1, reps); ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
    best = std::min(best, dt.count());
  }
  return best;
}

BenchResult MakeResult(std::string name, double value, std::string unit, std::string anchor,
                       double anchor_value) {
  BenchResult r{std::move(name), value, std::move(unit), std::move(anchor), anchor_value, 0};
  r.ratio = anchor_value != 0 ? value / anchor_value : 0;
  return r;
}

}  // namespace flywheel::bench

int main(int argc, char** argv) {
  using namespace flywheel::bench;
  // Before anything else: OpenBLAS (linked, so already loaded) reads its core type at load time.
  ReexecWithBestOpenBlasCore(argv);
  BenchContext ctx;
  ctx.source_dir = FLYWHEEL_SOURCE_DIR;
  bool json = false;
  std::vector<std::string> suites;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--json") {
      json = true;
    } else if (a == "--quick") {
      ctx.quick = true;
    } else if (a == "--threads" && i + 1 < argc) {
      ctx.threads = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--python" && i + 1 < argc) {
      ctx.python = argv[++i];
    } else if (a == "-h" || a == "--help") {
      PrintUsage();
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "flywheel-bench: unknown flag %s\n", a.c_str());
      PrintUsage();
      return 2;
    } else {
      suites.push_back(a);
    }
  }
  if (suites.empty()) {
    for (const auto& [name, suite] : Registry()) suites.push_back(name);
  }
  std::fprintf(stderr, "flywheel-bench: %s\n", DescribeOpenBlasCore().c_str());
  std::vector<BenchResult> all;
  for (const auto& name : suites) {
    auto it = Registry().find(name);
    if (it == Registry().end()) {
      std::fprintf(stderr, "flywheel-bench: unknown suite '%s'\n", name.c_str());
      PrintUsage();
      return 2;
    }
    if (!json) std::printf("== %s (%d threads)\n", name.c_str(), ctx.threads);
    std::fflush(stdout);
    for (auto& r : it->second.fn(ctx)) {
      if (!json) {
        std::printf("  %-34s %10.2f %-9s | %-22s %10.2f | ratio %.2f\n", r.name.c_str(), r.value,
                    r.unit.c_str(), r.anchor.c_str(), r.anchor_value, r.ratio);
        std::fflush(stdout);
      }
      all.push_back(std::move(r));
    }
  }
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : all) {
      out.push_back({{"name", r.name},
                     {"value", r.value},
                     {"unit", r.unit},
                     {"anchor", r.anchor},
                     {"anchor_value", r.anchor_value},
                     {"ratio", r.ratio}});
    }
    std::printf("%s\n", out.dump(2).c_str());
  }
  return 0;
}
