#include "learner/job_data.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace flywheel::learner {

uint64_t MixSeed(uint64_t a, uint64_t b) {
  uint64_t z = a + 0x9e3779b97f4a7c15ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

absl::StatusOr<std::unique_ptr<JobData>> JobData::Load(const std::string& path,
                                                       const DatasetNeeds& needs,
                                                       const tokenizer::Tokenizer& tokenizer,
                                                       uint64_t seed) {
  std::vector<std::string> problems;
  std::vector<DatasetRow> rows = LoadDataset(path, needs, &problems);
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(problems, "\n"));
  }
  auto data = std::unique_ptr<JobData>(new JobData());
  data->seed_ = seed;
  const auto eos = tokenizer.eos_id();
  for (auto& r : rows) {
    JobRow jr;
    auto prompt = tokenizer.Encode(r.prompt);
    if (!prompt.ok() || prompt->empty()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", r.line, ": prompt does not tokenize",
                                                     prompt.ok() ? " (empty)" : ": ",
                                                     prompt.ok() ? "" : prompt.status().message()));
    }
    jr.prompt_ids = std::move(*prompt);
    if (!r.answer.empty()) {
      auto target = tokenizer.EncodeOrdinary(r.answer);
      if (!target.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ":", r.line, ": answer does not tokenize: ", target.status().message()));
      }
      jr.target_ids = std::move(*target);
      if (eos) jr.target_ids.push_back(*eos);
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
