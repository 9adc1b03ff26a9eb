// A job's dataset, tokenized once, and the order the run reads it in: position k of the run's
// stream is row perm_e[k mod N] of epoch e = k / N, each epoch's permutation drawn from (seed, e).
// So the data cursor alone says where a resumed run continues, and every run with the same seed
// reads the same rows at the same steps.
//
// Thread safety: const methods may run concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tokenizer/tokenizer.h"
#include "learner/jobs/dataset.h"

namespace flywheel::learner {

struct JobRow {
  DatasetRow row;
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> target_ids;  // answer tokens + end-of-sequence (SFT); empty without answer
  // The distillation teacher's prompt: the privileged template applied to the row's privileged
  // text and prompt, when the row has privileged text and a template was given; else empty (the
  // teacher then sees prompt_ids).
  std::vector<int32_t> teacher_prompt_ids;
};

struct JobDataOptions {
  DatasetNeeds needs;
  uint64_t seed = 0;  // of the data order
  // distill.privileged_template, for rows with privileged text; "" builds no teacher prompts.
  std::string privileged_template;
  // When set, a row with a "problem" is prompted with this template ("{problem}" replaced)
  // instead of its "prompt" (self-play's solver template).
  std::string prompt_template;
};

class JobData {
 public:
  // Loads and tokenizes `path`. Any bad row is an error here (SubmitJob has already reported
  // them; a file changed since then fails the job rather than training on a subset silently).
  static absl::StatusOr<std::unique_ptr<JobData>> Load(const std::string& path,
                                                       const JobDataOptions& options,
                                                       const tokenizer::Tokenizer& tokenizer);

  int64_t size() const { return static_cast<int64_t>(rows_.size()); }
  // Row i in file order.
  const JobRow& row(int64_t i) const { return rows_[i]; }
  // The row at position k of the run's shuffled stream.
  const JobRow& At(int64_t k) const;

 private:
  std::vector<JobRow> rows_;
  uint64_t seed_ = 0;
  mutable std::mutex mu_;
  mutable std::map<int64_t, std::vector<int64_t>> perms_;  // by epoch, built on first use
};

}  // namespace flywheel::learner
