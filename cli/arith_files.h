// Writing the built-in arithmetic task's train.jsonl and eval.jsonl into a directory: what
// `flywheel gen-task arith` does, and one of the demo's steps. Stateless; safe from any thread.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "learner/tasks/arith_task.h"

namespace flywheel::cli {

struct ArithTaskFiles {
  std::string train_path;  // <out_dir>/train.jsonl
  std::string eval_path;   // <out_dir>/eval.jsonl
  learner::ArithSplits splits;
};

// Generates the splits (InvalidArgument for bad options, as GenerateArithSplits) and writes them
// atomically into out_dir (created if missing; InternalError on I/O failure).
absl::StatusOr<ArithTaskFiles> WriteArithTaskDir(const learner::ArithTaskOptions& options,
                                                 const std::string& out_dir);

}  // namespace flywheel::cli
