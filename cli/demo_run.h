// The stages of `flywheel demo`, callable from the command and from `flywheel-bench learner`: a
// tiny random model with a byte-level tokenizer, the arithmetic task, a local cluster, the SFT
// warm start, then the recipe's RL job from the SFT checkpoint (GRPO, on-policy distillation from
// a teacher, or self-distillation with privileged information), and the reward curve. Progress
// lines go to `log`. Every recipe number is in cli/demo_recipe.h.
//
// Thread safety: one demo per output directory at a time.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/demo_recipe.h"
#include "flywheel/v1/learner.pb.h"

namespace flywheel::cli {

struct DemoRunOptions {
  DemoRecipe recipe = DemoRecipe::kGrpo;
  // opsd only: run GRPO in OPSD's place, from the same warm start for the same steps (the
  // benchmark's anchor).
  bool baseline = false;
  std::string out_dir;  // absolute; state/ and this recipe's checkpoints/ in it are replaced
  bool quick = false;   // the shortened recipe
  int threads = 0;      // cores for the cluster; <= 0: all
  bool live = false;    // redraw a progress bar (a terminal) instead of printing lines
  FILE* log = stdout;   // stage lines and progress
};

struct DemoOutcome {
  double accuracy_before = 0;  // held-out accuracy of the warm start (the student, for opd)
  double accuracy_after = 0;   // after the RL job
  std::optional<double> teacher_accuracy;  // opd: the teacher's held-out accuracy
  std::string teacher_dir;                 // opd: the teacher's checkpoint
  v1::Job sft, rl;                         // final records
  std::vector<v1::StepMetrics> sft_metrics, rl_metrics;
  std::string csv, png;                                       // png empty without gnuplot
  std::string logs;                                           // daemon logs directory
  double sft_seconds = 0, rl_seconds = 0, total_seconds = 0;  // wall time of the stages
};

absl::StatusOr<DemoOutcome> RunDemo(const DemoRunOptions& options);

// The last line the demo prints: "held-out accuracy: 21.5% -> 53.0%", and for opd
// "held-out accuracy: 21.5% -> 60.0% (teacher 64.0%)".
std::string DemoSummaryLine(const DemoOutcome& outcome);

}  // namespace flywheel::cli
