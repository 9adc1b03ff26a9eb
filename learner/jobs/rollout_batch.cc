#include "learner/jobs/rollout_batch.h"

#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"

namespace flywheel::learner {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

absl::Status Sample(const std::vector<const JobRow*>& rows, const std::vector<uint64_t>& seeds,
                    const BatchOptions& options, const BatchSources& sources,
                    const std::atomic<bool>* cancel, Batch* batch) {
  std::vector<v1::GenerateRequest> requests(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    auto& r = requests[i];
    r.mutable_prompt_ids()->Assign(rows[i]->prompt_ids.begin(), rows[i]->prompt_ids.end());
    r.set_n(options.group_size);
    *r.mutable_sampling() = options.sampling;
    r.mutable_sampling()->set_seed(seeds[i]);
    r.set_request_id(absl::StrCat("row-", rows[i]->row.line));
  }
  ASSIGN_OR_RETURN(auto responses, sources.rollouts->GenerateAll(requests, cancel));
  batch->groups.resize(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    auto& resp = responses[i];
    if (resp.completions_size() != options.group_size) {
      return absl::InternalError(absl::StrCat("rollout server returned ", resp.completions_size(),
                                              " completions for n = ", options.group_size));
    }
    for (auto& c : *resp.mutable_completions()) {
      TrainSample s;
      s.prompt.assign(resp.prompt_ids().begin(), resp.prompt_ids().end());
      s.completion.assign(c.token_ids().begin(), c.token_ids().end());
      s.behaviour_logprobs.assign(c.logprobs().begin(), c.logprobs().end());
      s.versions.assign(c.versions().begin(), c.versions().end());
      s.truncated = c.finish_reason() == "length";
      batch->completion_tokens += static_cast<int64_t>(s.completion.size());
      batch->groups[i].push_back(std::move(s));
    }
  }
  MeasureLengths(batch->groups, &batch->health);
  return absl::OkStatus();
}

absl::Status Score(const std::vector<const JobRow*>& rows, const BatchSources& sources,
                   const std::atomic<bool>* cancel, Batch* batch) {
  std::vector<v1::RewardItem> items;
  for (size_t i = 0; i < rows.size(); ++i) {
    for (const TrainSample& s : batch->groups[i]) {
      ASSIGN_OR_RETURN(std::string text,
                       sources.tokenizer->Decode(s.completion, {.skip_special_tokens = true}));
      v1::RewardItem item;
      item.set_prompt(rows[i]->row.prompt);
      item.set_completion(std::move(text));
      item.set_task_json(rows[i]->row.task_json);
      item.set_completion_tokens(static_cast<int32_t>(s.completion.size()));
      items.push_back(std::move(item));
    }
  }
  ASSIGN_OR_RETURN(auto results, sources.rewards->ScoreAll(items, cancel));
  MeasureRewards(results, &batch->health);
  size_t k = 0;
  double sum = 0, sum_sq = 0;
  int64_t n = 0, correct = 0;
  for (auto& group : batch->groups) {
    for (TrainSample& s : group) {
      const v1::RewardResult& r = results[k++];
      s.reward_error = !r.error().empty();
      s.reward = s.reward_error ? 0.0 : r.total();
      s.correct = !s.reward_error && r.correct();
      batch->reward_errors += s.reward_error ? 1 : 0;
      sum += s.reward;
      sum_sq += s.reward * s.reward;
      correct += s.correct ? 1 : 0;
      ++n;
    }
  }
  if (n > 0) {
    batch->reward_mean = sum / n;
    batch->reward_std =
        std::sqrt(std::max(0.0, sum_sq / n - batch->reward_mean * batch->reward_mean));
    batch->pass_rate = static_cast<double>(correct) / n;
  }
  return absl::OkStatus();
}

absl::Status TeacherLogprobs(const std::vector<const JobRow*>& rows, const BatchSources& sources,
                             const std::atomic<bool>* cancel, Batch* batch) {
  std::vector<v1::ScoreItem> items;
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::vector<int32_t>& prompt =
        rows[i]->teacher_prompt_ids.empty() ? rows[i]->prompt_ids : rows[i]->teacher_prompt_ids;
    for (const TrainSample& s : batch->groups[i]) {
      v1::ScoreItem item;
      item.mutable_prompt_ids()->Assign(prompt.begin(), prompt.end());
      item.mutable_continuation_ids()->Assign(s.completion.begin(), s.completion.end());
      items.push_back(std::move(item));
    }
  }
  ASSIGN_OR_RETURN(auto logprobs, sources.teacher->ScoreAll(items, cancel));
  size_t k = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    for (TrainSample& s : batch->groups[i]) {
      s.teacher_prompt = rows[i]->teacher_prompt_ids;
      s.teacher_logprobs = std::move(logprobs[k++]);
      if (s.teacher_logprobs.size() != s.completion.size()) {
        return absl::InternalError(absl::StrCat("the teacher scored ", s.teacher_logprobs.size(),
                                                " of ", s.completion.size(), " tokens"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Batch> SampleBatch(const std::vector<const JobRow*>& rows,
                                  const std::vector<uint64_t>& seeds, const BatchOptions& options,
                                  const BatchSources& sources, const std::atomic<bool>* cancel) {
  Batch batch;
  auto t0 = Clock::now();
  RETURN_IF_ERROR(Sample(rows, seeds, options, sources, cancel, &batch));
  batch.sample_seconds = Since(t0);
  if (options.rewards) {
    t0 = Clock::now();
    RETURN_IF_ERROR(Score(rows, sources, cancel, &batch));
    batch.reward_seconds = Since(t0);
  }
  if (options.teacher) {
    t0 = Clock::now();
    RETURN_IF_ERROR(TeacherLogprobs(rows, sources, cancel, &batch));
    batch.teacher_seconds = Since(t0);
  }
  return batch;
}

absl::StatusOr<double> EvalAccuracy(const std::vector<const JobRow*>& rows,
                                    const v1::SamplingParams& sampling, const BatchSources& sources,
                                    const std::atomic<bool>* cancel) {
  if (rows.empty()) return absl::InvalidArgumentError("no eval rows");
  BatchOptions options;
  options.group_size = 1;
  options.sampling = sampling;
  options.sampling.set_temperature(0.0f);
  ASSIGN_OR_RETURN(Batch batch, SampleBatch(rows, std::vector<uint64_t>(rows.size(), 0), options,
                                            sources, cancel));
  int64_t correct = 0;
  for (const auto& g : batch.groups) correct += g[0].correct ? 1 : 0;
  return static_cast<double>(correct) / static_cast<double>(rows.size());
}

}  // namespace flywheel::learner
