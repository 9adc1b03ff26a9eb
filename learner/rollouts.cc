#include "learner/rollouts.h"

#include "absl/strings/str_cat.h"

namespace flywheel::learner {

absl::StatusOr<std::vector<ScoredPrompt>> SampleAndScore(const std::vector<const JobRow*>& rows,
                                                         int n, const v1::SamplingParams& sampling,
                                                         const std::vector<uint64_t>& seeds,
                                                         RolloutPool* rollouts, RewardPool* rewards,
                                                         const tokenizer::Tokenizer& tokenizer,
                                                         const std::atomic<bool>* cancel) {
  std::vector<v1::GenerateRequest> requests(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    auto& r = requests[i];
    r.mutable_prompt_ids()->Assign(rows[i]->prompt_ids.begin(), rows[i]->prompt_ids.end());
    r.set_n(n);
    *r.mutable_sampling() = sampling;
    r.mutable_sampling()->set_seed(seeds[i]);
    r.set_request_id(absl::StrCat("row-", rows[i]->row.line));
  }
  auto responses = rollouts->GenerateAll(requests, cancel);
  if (!responses.ok()) return responses.status();

  std::vector<ScoredPrompt> out(rows.size());
  std::vector<v1::RewardItem> items;
  for (size_t i = 0; i < rows.size(); ++i) {
    auto& resp = (*responses)[i];
    if (resp.completions_size() != n) {
      return absl::InternalError(absl::StrCat("rollout server returned ", resp.completions_size(),
                                              " completions for n = ", n));
    }
    out[i].row = rows[i];
    out[i].prompt_ids.assign(resp.prompt_ids().begin(), resp.prompt_ids().end());
    for (auto& c : *resp.mutable_completions()) {
      auto text = tokenizer.Decode(c.token_ids(), {.skip_special_tokens = true});
      if (!text.ok()) return text.status();
      v1::RewardItem item;
      item.set_prompt(rows[i]->row.prompt);
      item.set_completion(*text);
      item.set_task_json(rows[i]->row.task_json);
      item.set_completion_tokens(c.token_ids_size());
      items.push_back(std::move(item));
      ScoredCompletion sc;
      sc.completion = std::move(c);
      out[i].completions.push_back(std::move(sc));
    }
  }
  auto results = rewards->ScoreAll(items, cancel);
  if (!results.ok()) return results.status();
  size_t k = 0;
  for (auto& p : out) {
    for (auto& c : p.completions) {
      const v1::RewardResult& r = (*results)[k++];
      c.reward_error = !r.error().empty();
      c.reward = c.reward_error ? 0.0 : r.total();
      c.correct = !c.reward_error && r.correct();
    }
  }
  return out;
}

absl::StatusOr<double> EvalAccuracy(const std::vector<const JobRow*>& rows,
                                    const v1::SamplingParams& sampling, RolloutPool* rollouts,
                                    RewardPool* rewards, const tokenizer::Tokenizer& tokenizer,
                                    const std::atomic<bool>* cancel) {
  if (rows.empty()) return absl::InvalidArgumentError("no eval rows");
  v1::SamplingParams greedy = sampling;
  greedy.set_temperature(0.0f);
  auto scored = SampleAndScore(rows, 1, greedy, std::vector<uint64_t>(rows.size(), 0), rollouts,
                               rewards, tokenizer, cancel);
  if (!scored.ok()) return scored.status();
  int64_t correct = 0;
  for (const auto& p : *scored) correct += p.completions[0].correct ? 1 : 0;
  return static_cast<double>(correct) / static_cast<double>(rows.size());
}

}  // namespace flywheel::learner
