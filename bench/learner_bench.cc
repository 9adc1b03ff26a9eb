// flywheel-bench learner: the demo's recipes end to end on a local cluster of the three daemons
// (cli/demo_run.h), all in one working directory and from the same SFT warm start:
//
// - grpo: GRPO steps per minute and where a step's time goes (waiting for rollouts and rewards,
//   the update, the weight push). The anchor is the update alone: the steps per minute a learner
//   would reach if rollouts and pushes cost nothing (the demo runs on-policy, so generation and
//   the update take turns). Also the whole demo's time and held-out gain.
// - opd: on-policy distillation of the GRPO run's final checkpoint (the teacher) into the SFT
//   warm start, with the same prompts per step. Row opd_steps_to_teacher: the steps until the
//   student's held-out accuracy closes 90% of its gap to the teacher, beside the GRPO steps that
//   took (grpo_steps_to_teacher) — how much a dense per-token teacher signal saves over one
//   reward per completion.
// - opsd: self-distillation with the answer as privileged information, beside GRPO for the same
//   steps from the same (privileged-aware) warm start: held-out points gained over SFT.
//
// --quick runs the shortened recipes.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "bench/bench_report.h"
#include "cli/demo_run.h"
#include "cli/demo_stages.h"

namespace flywheel::bench {
namespace {

absl::StatusOr<cli::DemoOutcome> Run(const BenchContext& ctx, const std::string& dir,
                                     cli::DemoRecipe recipe, bool baseline = false) {
  cli::DemoRunOptions options;
  options.recipe = recipe;
  options.baseline = baseline;
  options.out_dir = dir;
  options.quick = ctx.quick;
  options.threads = ctx.threads;
  options.log = stderr;
  return cli::RunDemo(options);
}

// The first eval step at which `metrics` reach `target` held-out accuracy; -1 when none does.
int64_t FirstStepReaching(const std::vector<v1::StepMetrics>& metrics, double target) {
  for (const auto& m : metrics) {
    if (m.has_eval_accuracy() && m.eval_accuracy() >= target) return m.step();
  }
  return -1;
}

std::vector<BenchResult> GrpoRows(const cli::DemoOutcome& r) {
  double wait = 0, update = 0, push = 0, step = 0;
  for (const auto& m : r.rl_metrics) {
    wait += m.wait_seconds();
    update += m.update_seconds();
    push += m.push_seconds();
    step += m.step_seconds();
  }
  const double n = static_cast<double>(r.rl_metrics.size());
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
      MakeResult("demo_wall_minutes", r.total_seconds / 60.0, "min", "budget_minutes", 15.0));
  out.push_back(MakeResult("demo_accuracy_gain_points",
                           100.0 * (r.accuracy_after - r.accuracy_before), "points",
                           "required_points", 25.0));
  return out;
}

std::vector<BenchResult> OpdRows(const cli::DemoOutcome& grpo, const cli::DemoOutcome& opd) {
  if (!opd.teacher_accuracy) return {};
  const double start = opd.accuracy_before, teacher = *opd.teacher_accuracy;
  const double target = start + 0.9 * (teacher - start);
  int64_t opd_steps = FirstStepReaching(opd.rl_metrics, target);
  int64_t grpo_steps = FirstStepReaching(grpo.rl_metrics, target);
  std::fprintf(stderr,
               "learner bench: teacher %.1f%%, student %.1f%%, 90%% of the gap at %.1f%%: OPD "
               "step %lld, GRPO step %lld (-1: not within the run; counted as the run's length)\n",
               100 * teacher, 100 * start, 100 * target, static_cast<long long>(opd_steps),
               static_cast<long long>(grpo_steps));
  if (opd_steps < 0) opd_steps = opd.rl.spec().steps();
  if (grpo_steps < 0) grpo_steps = grpo.rl.spec().steps();
  std::vector<BenchResult> out;
  out.push_back(MakeResult("opd_steps_to_teacher", static_cast<double>(opd_steps), "steps",
                           "grpo_steps_to_teacher", static_cast<double>(grpo_steps)));
  out.push_back(MakeResult("opd_accuracy_points", 100.0 * (opd.accuracy_after - start), "points",
                           "teacher_gap_points", 100.0 * (teacher - start)));
  out.push_back(
      MakeResult("opd_demo_wall_minutes", opd.total_seconds / 60.0, "min", "budget_minutes", 10.0));
  return out;
}

std::vector<BenchResult> OpsdRows(const cli::DemoOutcome& opsd, const cli::DemoOutcome& grpo) {
  std::vector<BenchResult> out;
  out.push_back(MakeResult("opsd_gain_points", 100.0 * (opsd.accuracy_after - opsd.accuracy_before),
                           "points", "grpo_gain_points",
                           100.0 * (grpo.accuracy_after - grpo.accuracy_before)));
  out.push_back(MakeResult("opsd_demo_wall_minutes", opsd.total_seconds / 60.0, "min",
                           "budget_minutes", 10.0));
  return out;
}

std::vector<BenchResult> RunLearnerBench(const BenchContext& ctx) {
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("flywheel-bench-learner-" + std::to_string(::getpid())))
                              .string();
  std::vector<BenchResult> out;
  auto report = [&](const absl::Status& s, const char* what) {
    std::fprintf(stderr, "learner bench: %s: %s\n", what, std::string(s.message()).c_str());
  };
  auto grpo = Run(ctx, dir, cli::DemoRecipe::kGrpo);
  if (!grpo.ok()) {
    report(grpo.status(), "grpo");
  } else {
    for (auto& r : GrpoRows(*grpo)) out.push_back(std::move(r));
    // The same directory: opd finds the GRPO run's final checkpoint and distils it.
    auto opd = Run(ctx, dir, cli::DemoRecipe::kOpd);
    if (!opd.ok()) {
      report(opd.status(), "opd");
    } else {
      for (auto& r : OpdRows(*grpo, *opd)) out.push_back(std::move(r));
    }
  }
  auto opsd = Run(ctx, dir, cli::DemoRecipe::kOpsd);
  auto baseline = opsd.ok() ? Run(ctx, dir, cli::DemoRecipe::kOpsd, /*baseline=*/true) : opsd;
  if (!baseline.ok()) {
    report(baseline.status(), "opsd");
  } else {
    for (auto& r : OpsdRows(*opsd, *baseline)) out.push_back(std::move(r));
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return out;
}

FW_REGISTER_BENCH("learner",
                  "the demo's recipes: GRPO steps/min and phases; OPD steps to the teacher vs "
                  "GRPO's; OPSD's gain vs GRPO's",
                  RunLearnerBench);

}  // namespace
}  // namespace flywheel::bench
