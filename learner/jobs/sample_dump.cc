#include "learner/jobs/sample_dump.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

namespace flywheel::learner {

absl::Status WriteSampleDump(const std::string& dir, int64_t step, const Batch& batch) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string path =
      (std::filesystem::path(dir) / absl::StrFormat("step-%06d.jsonl", step)).string();
  const std::string tmp = path + ".tmp";
  std::ofstream out(tmp, std::ios::trunc);
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  for (size_t g = 0; g < batch.groups.size(); ++g) {
    for (size_t i = 0; i < batch.groups[g].size(); ++i) {
      const TrainSample& s = batch.groups[g][i];
      nlohmann::json line = {{"step", step},
                             {"group", g},
                             {"index", i},
                             {"prompt_ids", s.prompt},
                             {"completion_ids", s.completion},
                             {"logprobs", s.behaviour_logprobs},
                             {"versions", s.versions},
                             {"reward", s.reward},
                             {"correct", s.correct}};
      if (!s.teacher_logprobs.empty()) line["teacher_logprobs"] = s.teacher_logprobs;
      if (!s.teacher_prompt.empty()) line["teacher_prompt_ids"] = s.teacher_prompt;
      out << line.dump() << '\n';
    }
  }
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  std::filesystem::rename(tmp, path, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot rename ", tmp, ": ", ec.message()));
  return absl::OkStatus();
}

}  // namespace flywheel::learner
