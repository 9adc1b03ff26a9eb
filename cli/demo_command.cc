// flywheel demo [--recipe grpo|opd|opsd] [--out DIR] [--quick] [--threads N]
// RL working end to end on a CPU with nothing downloaded: a tiny random model with a byte-level
// tokenizer, the built-in arithmetic task, a local cluster (rollout, reward, learner), an SFT warm
// start, then the recipe's RL job from the SFT checkpoint with a live progress bar: GRPO,
// on-policy distillation from a stronger teacher, or self-distillation with the answer as
// privileged information. Writes the reward curve (CSV, and a PNG when gnuplot is installed) and
// ends with the line
//   held-out accuracy: <after SFT>% -> <after RL>%            (opd adds " (teacher <T>%)")
// The stages are in cli/demo_run.cc; every recipe number is in cli/demo_recipe.h.
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "cli/command.h"
#include "cli/demo_run.h"
#include "common/base/flags.h"

namespace flywheel::cli {
namespace {

constexpr char kUsage[] =
    "usage: flywheel demo [--recipe grpo|opd|opsd] [--out DIR] [--quick] [--threads N]\n"
    "  --recipe   grpo (default): SFT warm start, then GRPO on the task's reward\n"
    "             opd: on-policy distillation of a stronger teacher into the SFT warm start\n"
    "                  (the teacher: a finished `--recipe grpo` run in --out, else longer SFT)\n"
    "             opsd: self-distillation, the policy seeing the answer teaches itself, plus\n"
    "                  the task's reward\n"
    "  --out      working directory (default ./flywheel-demo): model/, task/, checkpoints/,\n"
    "             state/ (learner state and daemon logs; replaced on each run) and the reward\n"
    "             curve; a recipe replaces its own checkpoints and keeps the others'\n"
    "  --quick    a much shorter run, for a smoke test\n"
    "  --threads  cores to use (default: all)\n";

constexpr char kProgram[] = "flywheel demo";

int Demo(const std::vector<std::string>& args) {
  int exit_code = 0;
  auto flags = Flags::ParseOrUsage(kProgram, args, {"recipe", "out", "threads"}, {"quick"}, {},
                                   kUsage, &exit_code);
  if (!flags) return exit_code;
  auto threads = flags->GetInt("threads", 0);
  if (!threads.ok() || *threads < 0) {
    std::fprintf(stderr, "%s: --threads must be a positive integer\n%s", kProgram, kUsage);
    return 2;
  }
  auto recipe = ParseDemoRecipe(flags->GetOr("recipe", "grpo"));
  if (!recipe.ok()) {
    std::fprintf(stderr, "%s: %s\n%s", kProgram, std::string(recipe.status().message()).c_str(),
                 kUsage);
    return 2;
  }
  DemoRunOptions options;
  options.recipe = *recipe;
  options.out_dir =
      std::filesystem::absolute(flags->GetOr("out", "flywheel-demo")).lexically_normal().string();
  options.quick = flags->Has("quick");
  options.threads = static_cast<int>(*threads);
  options.live = isatty(STDOUT_FILENO) != 0;
  auto r = RunDemo(options);
  if (!r.ok()) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: %s\n", kProgram, std::string(r.status().message()).c_str());
    return 1;
  }
  std::printf("\nfinal checkpoint: %s\n", r->rl.checkpoint().c_str());
  if (!r->teacher_dir.empty()) std::printf("teacher:          %s\n", r->teacher_dir.c_str());
  std::printf("reward curve:     %s%s%s\n", r->csv.c_str(), r->png.empty() ? "" : " and ",
              r->png.c_str());
  std::printf("daemon logs:      %s\n", r->logs.c_str());
  std::printf("time:             SFT %.0f s, %s %.0f s, total %.0f s\n", r->sft_seconds,
              DemoRecipeName(*recipe), r->rl_seconds, r->total_seconds);
  std::printf("%s\n", DemoSummaryLine(*r).c_str());
  return 0;
}

}  // namespace

FW_REGISTER_COMMAND("demo",
                    "train a tiny model on arithmetic with SFT, then GRPO or distillation, locally",
                    Demo);

}  // namespace flywheel::cli
