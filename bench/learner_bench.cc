// flywheel-bench learner: the demo job end to end (SFT warm start, then GRPO on a local cluster of
// the three daemons; cli/demo_run.h), reporting GRPO steps per minute and where a step's time goes
// (waiting for rollouts and rewards, the update, the weight push). The anchor, measured in the
// same run, is the update alone: the steps per minute a learner would reach if rollouts and pushes
// cost nothing, so the ratio is how much of the model core's speed the whole loop keeps (the demo
// runs on-policy, so generation and the update take turns). --quick runs the shortened demo.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "bench/bench_report.h"
#include "cli/demo_run.h"

namespace flywheel::bench {
namespace {

std::vector<BenchResult> RunLearnerBench(const BenchContext& ctx) {
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("flywheel-bench-learner-" + std::to_string(::getpid())))
                              .string();
  cli::DemoRunOptions options;
  options.out_dir = dir;
  options.quick = ctx.quick;
  options.threads = ctx.threads;
  options.log = stderr;
  auto r = cli::RunDemo(options);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (!r.ok()) {
    std::fprintf(stderr, "learner bench: %s\n", std::string(r.status().message()).c_str());
    return {};
  }
  double wait = 0, update = 0, push = 0, step = 0;
  for (const auto& m : r->grpo_metrics) {
    wait += m.wait_seconds();
    update += m.update_seconds();
    push += m.push_seconds();
    step += m.step_seconds();
  }
  const double n = static_cast<double>(r->grpo_metrics.size());
  if (n == 0 || step <= 0) return {};
  std::vector<BenchResult> out;
  out.push_back(MakeResult("demo_grpo_steps_per_minute", 60.0 * n / step, "steps/min",
                           "update_only_ceiling", 60.0 * n / update));
  // The split, each as seconds per step beside the whole step (ratio = its share).
  out.push_back(MakeResult("demo_grpo_wait_seconds", wait / n, "s/step", "step_seconds", step / n));
  out.push_back(
      MakeResult("demo_grpo_update_seconds", update / n, "s/step", "step_seconds", step / n));
  out.push_back(MakeResult("demo_grpo_push_seconds", push / n, "s/step", "step_seconds", step / n));
  // The whole demo against its 15-minute budget (ratio < 1 is within it).
  out.push_back(
      MakeResult("demo_wall_minutes", r->total_seconds / 60.0, "min", "budget_minutes", 15.0));
  out.push_back(MakeResult("demo_accuracy_gain_points",
                           100.0 * (r->accuracy_after - r->accuracy_before), "points",
                           "required_points", 25.0));
  return out;
}

FW_REGISTER_BENCH(
    "learner", "the demo job: GRPO steps/min and the wait/update/push split, vs the update alone",
    RunLearnerBench);

}  // namespace
}  // namespace flywheel::bench
