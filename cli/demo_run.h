// The stages of `flywheel demo`, callable from the command and from `flywheel-bench learner`:
// a tiny random model with a byte-level tokenizer, the arithmetic task, a local cluster, the SFT
// warm start, GRPO from the SFT checkpoint, and the reward curve. Progress lines go to `log`.
// Every recipe number is in cli/demo_recipe.h.
//
// Thread safety: one demo per output directory at a time.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "flywheel/v1/learner.pb.h"

namespace flywheel::cli {

struct DemoRunOptions {
  std::string out_dir;  // absolute; state/ and checkpoints/ in it are replaced
  bool quick = false;   // the shortened recipe
  int threads = 0;      // cores for the cluster; <= 0: all
  bool live = false;    // redraw a progress bar (a terminal) instead of printing lines
  FILE* log = stdout;   // stage lines and progress
};

struct DemoOutcome {
  double accuracy_before = 0;  // held-out accuracy after the SFT warm start
  double accuracy_after = 0;   // after GRPO
  v1::Job sft, grpo;           // final records
  std::vector<v1::StepMetrics> sft_metrics, grpo_metrics;
  std::string csv, png;                                         // png empty without gnuplot
  std::string logs;                                             // daemon logs directory
  double sft_seconds = 0, grpo_seconds = 0, total_seconds = 0;  // wall time of the stages
};

absl::StatusOr<DemoOutcome> RunDemo(const DemoRunOptions& options);

}  // namespace flywheel::cli
