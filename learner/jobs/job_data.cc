#include "learner/jobs/job_data.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/base/mix.h"
#include "learner/jobs/job_spec.h"

namespace flywheel::learner {

absl::StatusOr<std::unique_ptr<JobData>> JobData::Load(const std::string& path,
                                                       const JobDataOptions& options,
                                                       const tokenizer::Tokenizer& tokenizer) {
  std::vector<std::string> problems;
  std::vector<DatasetRow> rows = LoadDataset(path, options.needs, &problems);
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(problems, "\n"));
  }
  auto data = std::unique_ptr<JobData>(new JobData());
  data->seed_ = options.seed;
  const auto eos = tokenizer.eos_id();
  for (auto& r : rows) {
    JobRow jr;
    if (!options.prompt_template.empty() && !r.problem.empty()) {
      r.prompt = absl::StrReplaceAll(options.prompt_template, {{"{problem}", r.problem}});
    }
    auto prompt = tokenizer.Encode(r.prompt);
    if (!prompt.ok() || prompt->empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ":", r.line, ": prompt does not tokenize", prompt.ok() ? " (empty)" : ": ",
          prompt.ok() ? "" : prompt.status().message()));
    }
    jr.prompt_ids = std::move(*prompt);
    if (!r.answer.empty()) {
      auto target = tokenizer.EncodeOrdinary(r.answer);
      if (!target.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            path, ":", r.line, ": answer does not tokenize: ", target.status().message()));
      }
      jr.target_ids = std::move(*target);
      if (eos) jr.target_ids.push_back(*eos);
    }
    if (!r.privileged.empty() && !options.privileged_template.empty()) {
      auto teacher =
          tokenizer.Encode(PrivilegedPrompt(options.privileged_template, r.privileged, r.prompt));
      if (!teacher.ok() || teacher->empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            path, ":", r.line, ": the privileged prompt does not tokenize",
            teacher.ok() ? " (empty)" : ": ", teacher.ok() ? "" : teacher.status().message()));
      }
      jr.teacher_prompt_ids = std::move(*teacher);
    }
    jr.row = std::move(r);
    data->rows_.push_back(std::move(jr));
  }
  if (data->rows_.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no rows"));
  return data;
}

const JobRow& JobData::At(int64_t k) const {
  const int64_t n = size();
  const int64_t epoch = k / n;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = perms_.find(epoch);
  if (it == perms_.end()) {
    std::vector<int64_t> perm(n);
    for (int64_t i = 0; i < n; ++i) perm[i] = i;
    // Fisher-Yates on raw engine bits: std::shuffle's algorithm differs between libraries.
    std::mt19937_64 rng(MixSeed(seed_, static_cast<uint64_t>(epoch)));
    for (int64_t i = n - 1; i > 0; --i) {
      std::swap(perm[i], perm[rng() % static_cast<uint64_t>(i + 1)]);
    }
    if (perms_.size() > 4) perms_.erase(perms_.begin());  // Only recent epochs are read.
    it = perms_.emplace(epoch, std::move(perm)).first;
  }
  return rows_[it->second[k % n]];
}

}  // namespace flywheel::learner
