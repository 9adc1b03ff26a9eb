#include "cli/task_files.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "learner/tasks/jsonl_file.h"

namespace flywheel::cli {
namespace {

// Creates out_dir (and its parents) if missing.
absl::StatusOr<std::filesystem::path> TaskDir(const std::string& out_dir) {
  const std::filesystem::path out = out_dir;
  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", out_dir, ": ", ec.message()));
  return out;
}

}  // namespace

absl::StatusOr<ArithTaskFiles> WriteArithTaskDir(const learner::ArithTaskOptions& options,
                                                 const std::string& out_dir) {
  ArithTaskFiles files;
  ASSIGN_OR_RETURN(files.splits, learner::GenerateArithSplits(options));
  ASSIGN_OR_RETURN(const std::filesystem::path out, TaskDir(out_dir));
  files.train_path = (out / "train.jsonl").string();
  files.eval_path = (out / "eval.jsonl").string();
  RETURN_IF_ERROR(learner::WriteArithJsonl(files.train_path, files.splits.train));
  RETURN_IF_ERROR(learner::WriteArithJsonl(files.eval_path, files.splits.eval));
  return files;
}

absl::StatusOr<ExprTaskFiles> WriteExprTaskDir(const learner::ExprTaskOptions& options,
                                               const std::string& out_dir) {
  ExprTaskFiles files;
  ASSIGN_OR_RETURN(files.splits, learner::GenerateExprSplits(options));
  ASSIGN_OR_RETURN(const std::filesystem::path out, TaskDir(out_dir));
  files.train_path = (out / "train.jsonl").string();
  files.eval_path = (out / "eval.jsonl").string();
  files.warm_start_path = (out / "warm_start.jsonl").string();
  for (const auto& [path, rows] : {std::pair{files.train_path, &files.splits.train},
                                   std::pair{files.eval_path, &files.splits.eval}}) {
    std::vector<std::string> lines;
    for (const auto& p : *rows) lines.push_back(learner::ExprTargetJson(p, options));
    RETURN_IF_ERROR(learner::WriteLinesAtomic(path, lines));
  }
  RETURN_IF_ERROR(learner::WriteLinesAtomic(files.warm_start_path,
                                            learner::ExprWarmStartJson(files.splits, options)));
  return files;
}

}  // namespace flywheel::cli
