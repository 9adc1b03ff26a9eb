#include "cli/arith_files.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"

namespace flywheel::cli {

absl::StatusOr<ArithTaskFiles> WriteArithTaskDir(const learner::ArithTaskOptions& options,
                                                 const std::string& out_dir) {
  ArithTaskFiles files;
  ASSIGN_OR_RETURN(files.splits, learner::GenerateArithSplits(options));
  const std::filesystem::path out = out_dir;
  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", out_dir, ": ", ec.message()));
  files.train_path = (out / "train.jsonl").string();
  files.eval_path = (out / "eval.jsonl").string();
  RETURN_IF_ERROR(learner::WriteArithJsonl(files.train_path, files.splits.train));
  RETURN_IF_ERROR(learner::WriteArithJsonl(files.eval_path, files.splits.eval));
  return files;
}

}  // namespace flywheel::cli
