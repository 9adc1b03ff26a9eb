// Writing the built-in tasks into a directory: what `flywheel gen-task arith|expr` does, and one
// of the demo's steps. The arithmetic task writes train.jsonl and eval.jsonl; the self-play
// expression task writes its targets (train.jsonl, eval.jsonl) and the warm start's SFT rows for
// both roles (warm_start.jsonl). Stateless; safe from any thread.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "learner/tasks/arith_task.h"
#include "learner/tasks/expr_task.h"

namespace flywheel::cli {

struct ArithTaskFiles {
  std::string train_path;  // <out_dir>/train.jsonl
  std::string eval_path;   // <out_dir>/eval.jsonl
  learner::ArithSplits splits;
};

struct ExprTaskFiles {
  std::string train_path;       // <out_dir>/train.jsonl: self-play targets
  std::string eval_path;        // <out_dir>/eval.jsonl: held-out targets
  std::string warm_start_path;  // <out_dir>/warm_start.jsonl: SFT rows for both roles
  learner::ExprSplits splits;
};

// Each generates its splits (InvalidArgument for bad options, as the task's generator does) and
// writes them atomically into out_dir (created if missing; InternalError on I/O failure).
absl::StatusOr<ArithTaskFiles> WriteArithTaskDir(const learner::ArithTaskOptions& options,
                                                 const std::string& out_dir);
absl::StatusOr<ExprTaskFiles> WriteExprTaskDir(const learner::ExprTaskOptions& options,
                                               const std::string& out_dir);

}  // namespace flywheel::cli
