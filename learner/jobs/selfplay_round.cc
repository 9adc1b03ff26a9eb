#include "learner/jobs/selfplay_round.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/base/mix.h"
#include "common/base/status_macros.h"
#include "learner/tasks/arith_task.h"
#include "learner/tasks/expr_task.h"
#include "nlohmann/json.hpp"

namespace flywheel::learner {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Each role's requests of a target draw from their own stream: (seed, position) then the role.
constexpr uint64_t kConjectureStream = 1, kTargetAttemptStream = 2, kConjectureAttemptStream = 3;

struct Request {
  std::string prompt_text;
  uint64_t seed = 0;
  int n = 1;
};

// Samples every request; the completions of request i in out[i], in index order.
absl::StatusOr<std::vector<std::vector<RoundSample>>> Sample(const std::vector<Request>& requests,
                                                             const v1::SamplingParams& sampling,
                                                             const RoundSources& sources,
                                                             const std::atomic<bool>* cancel) {
  std::vector<v1::GenerateRequest> reqs(requests.size());
  std::vector<std::vector<int32_t>> prompts(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    ASSIGN_OR_RETURN(prompts[i], sources.tokenizer->Encode(requests[i].prompt_text));
    if (prompts[i].empty()) return absl::InvalidArgumentError("an empty self-play prompt");
    reqs[i].mutable_prompt_ids()->Assign(prompts[i].begin(), prompts[i].end());
    reqs[i].set_n(requests[i].n);
    *reqs[i].mutable_sampling() = sampling;
    reqs[i].mutable_sampling()->set_seed(requests[i].seed);
  }
  ASSIGN_OR_RETURN(auto responses, sources.rollouts->GenerateAll(reqs, cancel));
  const double max_tokens = std::max(1, sampling.max_tokens());
  std::vector<std::vector<RoundSample>> out(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    for (const auto& c : responses[i].completions()) {
      RoundSample r;
      r.sample.prompt = prompts[i];
      r.sample.completion.assign(c.token_ids().begin(), c.token_ids().end());
      r.sample.behaviour_logprobs.assign(c.logprobs().begin(), c.logprobs().end());
      r.sample.versions.assign(c.versions().begin(), c.versions().end());
      r.truncated = c.finish_reason() == "length";
      r.length_fraction = static_cast<double>(r.sample.completion.size()) / max_tokens;
      out[i].push_back(std::move(r));
    }
    if (static_cast<int>(out[i].size()) != requests[i].n) {
      return absl::InternalError(absl::StrCat("rollout server returned ", out[i].size(),
                                              " completions for n = ", requests[i].n));
    }
  }
  return out;
}

absl::StatusOr<std::string> Text(const RoundSample& s, const tokenizer::Tokenizer& tokenizer) {
  return tokenizer.Decode(s.sample.completion, {.skip_special_tokens = true});
}

// The gate's and the guide's verdicts on the round's conjectures.
absl::Status Gate(const std::vector<const JobRow*>& rows, const std::vector<int>& conjecture_row,
                  int64_t round, const SelfPlayConfig& config, const RoundSources& sources,
                  const std::atomic<bool>* cancel, RoundResult* r) {
  std::vector<v1::RewardItem> items;
  for (size_t c = 0; c < r->conjectures.size(); ++c) {
    const JobRow& row = *rows[conjecture_row[c]];
    v1::RewardItem item;
    item.set_prompt(ApplyTemplate(config.conjecture_template, row.row.problem));
    item.set_completion(r->conjectures[c].text);
    item.set_task_json(nlohmann::json{{"verifier", "conjecture"},
                                      {"conjecture",
                                       {{"target", row.row.problem},
                                        {"ops", config.gate_ops},
                                        {"max_digits", config.gate_max_digits},
                                        {"max_ops", config.gate_max_ops},
                                        {"max_chars", config.gate_max_chars},
                                        {"max_abs_value", config.gate_max_value},
                                        {"batch", absl::StrCat("round-", round)}}}}
                           .dump());
    items.push_back(std::move(item));
  }
  // One request: the gate rejects duplicates within the batch it sees.
  ASSIGN_OR_RETURN(auto verdicts, sources.rewards->ScoreAll(items, cancel, /*one_request=*/true));
  std::vector<v1::RewardItem> guide_items;
  std::vector<int> guided;
  for (size_t c = 0; c < r->conjectures.size(); ++c) {
    RoundConjecture& conj = r->conjectures[c];
    const v1::RewardResult& v = verdicts[c];
    conj.valid = v.error().empty() && v.correct();
    conj.answer = v.answer();
    conj.reason = !v.error().empty() ? "error" : v.reason().substr(0, v.reason().find(':'));
    if (!conj.valid || config.guide_rubric_json.empty()) continue;
    const std::string& target = rows[conjecture_row[c]]->row.problem;
    nlohmann::json rubric = nlohmann::json::parse(
        absl::StrReplaceAll(config.guide_rubric_json, {{"{target}", target}}), nullptr, false);
    v1::RewardItem item;
    item.set_prompt(target);
    item.set_completion(conj.text);
    item.set_task_json(nlohmann::json{{"verifier", "rubric"}, {"rubric", rubric}}.dump());
    guide_items.push_back(std::move(item));
    guided.push_back(static_cast<int>(c));
  }
  if (!guide_items.empty()) {
    ASSIGN_OR_RETURN(auto guides, sources.rewards->ScoreAll(guide_items, cancel));
    for (size_t k = 0; k < guided.size(); ++k) {
      // A guide that could not score leaves the conjecture unweighted by it (1), as SGS replaces
      // an unparseable review by the batch average: it neither helps nor hurts.
      if (guides[k].error().empty()) r->conjectures[guided[k]].guide = guides[k].total();
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RoundResult> RunSelfPlayRound(const std::vector<const JobRow*>& rows,
                                             int64_t first_position, int64_t round,
                                             const std::set<int64_t>& solved,
                                             const SelfPlayConfig& config,
                                             const v1::SamplingParams& sampling, uint64_t seed,
                                             const RoundSources& sources,
                                             const std::atomic<bool>* cancel) {
  RoundResult r;
  auto stream = [&](size_t i, uint64_t role) {
    return MixSeed(MixSeed(seed, static_cast<uint64_t>(first_position) + i), role);
  };
  // 1. Conjectures for the unsolved targets.
  auto t0 = Clock::now();
  std::vector<Request> conj_requests;
  std::vector<int> request_row;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (solved.contains(rows[i]->row.line)) continue;
    conj_requests.push_back({ApplyTemplate(config.conjecture_template, rows[i]->row.problem),
                             stream(i, kConjectureStream), config.conjectures_per_target});
    request_row.push_back(static_cast<int>(i));
  }
  std::vector<int> conjecture_row;  // the row of each conjecture
  if (!conj_requests.empty()) {
    ASSIGN_OR_RETURN(auto conj, Sample(conj_requests, sampling, sources, cancel));
    for (size_t q = 0; q < conj.size(); ++q) {
      for (auto& s : conj[q]) {
        RoundConjecture c;
        ASSIGN_OR_RETURN(c.text, Text(s, *sources.tokenizer));
        c.sample = std::move(s);
        r.conjectures.push_back(std::move(c));
        conjecture_row.push_back(request_row[q]);
      }
    }
  }
  r.sample_seconds += Since(t0);
  t0 = Clock::now();
  if (!r.conjectures.empty()) {
    RETURN_IF_ERROR(Gate(rows, conjecture_row, round, config, sources, cancel, &r));
  }
  r.reward_seconds += Since(t0);

  // 2. The solver attempts every target and every valid conjecture.
  std::vector<Request> attempts;
  std::vector<std::string> tasks;
  for (size_t i = 0; i < rows.size(); ++i) {
    RoundProblem p;
    p.text = rows[i]->row.problem;
    p.target = true;
    p.target_line = rows[i]->row.line;
    r.problems.push_back(std::move(p));
    attempts.push_back({ApplyTemplate(config.solver_template, rows[i]->row.problem),
                        stream(i, kTargetAttemptStream), config.attempts});
    tasks.push_back(rows[i]->row.task_json);
  }
  std::vector<int> per_row(rows.size(), 0);  // conjectures of each row so far, for their seeds
  for (size_t c = 0; c < r.conjectures.size(); ++c) {
    RoundConjecture& conj = r.conjectures[c];
    const int row = conjecture_row[c];
    const int k = per_row[row]++;
    if (!conj.valid) continue;
    conj.problem = static_cast<int>(r.problems.size());
    RoundProblem p;
    p.text = std::string(conj.text);
    p.conjecture = static_cast<int>(c);
    r.problems.push_back(std::move(p));
    attempts.push_back({ApplyTemplate(config.solver_template, conj.text),
                        stream(row, kConjectureAttemptStream + k), config.attempts});
    tasks.push_back(LastNumberMathTask(conj.answer).dump());
  }
  t0 = Clock::now();
  ASSIGN_OR_RETURN(auto sampled, Sample(attempts, sampling, sources, cancel));
  r.sample_seconds += Since(t0);
  t0 = Clock::now();
  std::vector<v1::RewardItem> items;
  for (size_t p = 0; p < sampled.size(); ++p) {
    for (const auto& s : sampled[p]) {
      v1::RewardItem item;
      item.set_prompt(attempts[p].prompt_text);
      ASSIGN_OR_RETURN(std::string text, Text(s, *sources.tokenizer));
      item.set_completion(std::move(text));
      item.set_task_json(tasks[p]);
      items.push_back(std::move(item));
    }
  }
  ASSIGN_OR_RETURN(auto scores, sources.rewards->ScoreAll(items, cancel));
  size_t k = 0;
  for (size_t p = 0; p < sampled.size(); ++p) {
    for (auto& s : sampled[p]) {
      const v1::RewardResult& score = scores[k++];
      s.sample.correct = score.error().empty() && score.correct();
      s.sample.reward_error = !score.error().empty();
      s.sample.reward = s.sample.correct ? 1.0 : 0.0;
      r.problems[p].correct += s.sample.correct;
      r.problems[p].attempts.push_back(std::move(s));
    }
  }
  r.reward_seconds += Since(t0);
  return r;
}

}  // namespace flywheel::learner
