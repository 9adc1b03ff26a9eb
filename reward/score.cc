#include "reward/score.h"

#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "common/base/status_macros.h"
#include "reward/text_util.h"

namespace flywheel::reward {
namespace {

// One item between the local phase and the judge phase.
struct Pending {
  RewardResult result;
  std::vector<RewardTerm> extra_terms;  // format and overlong, added after the verifier's term
  std::vector<double> satisfied;        // rubric c_j; judged entries filled in by the judge
  std::vector<size_t> judged;           // criterion index of each of this item's judge queries
  size_t first_query = 0;
};

// Everything that needs no judge. Appends this item's judge queries to `queries`.
absl::Status ScoreLocally(const TaskSpec& spec, const ScoreInput& input,
                          const ScoreOptions& options, Pending& p,
                          std::vector<JudgeQuery>& queries) {
  const InputLimits& limits = options.limits;
  RETURN_IF_ERROR(CheckText(input.prompt, limits.max_prompt_bytes, limits, "prompt"));
  RETURN_IF_ERROR(CheckText(input.completion, limits.max_completion_bytes, limits, "completion"));

  std::optional<absl::StatusOr<Verdict>> verdict;
  switch (spec.verifier) {
    case VerifierKind::kMath: {
      MathVerifyOptions math = spec.math;
      math.extract.max_brace_depth = limits.max_brace_depth;
      math.max_answer_bytes = limits.max_answer_bytes;
      verdict = VerifyMath(spec.gold.at(0), input.completion, math);
      break;
    }
    case VerifierKind::kExact:
      verdict = VerifyExact(spec.gold, input.completion, spec.text);
      break;
    case VerifierKind::kRegex: {
      RegexVerifyOptions options_regex;
      options_regex.text = spec.text;
      options_regex.full_match = spec.regex_full_match;
      verdict = VerifyRegex(*spec.regex, input.completion, options_regex);
      break;
    }
    case VerifierKind::kChoice: {
      ChoiceOptions choice;
      choice.text = spec.text;
      choice.letters = spec.choice_letters;
      verdict = VerifyChoice(spec.gold.at(0)[0], input.completion, choice);
      break;
    }
    case VerifierKind::kConjecture:
      if (input.duplicate) {
        Verdict dup;
        dup.reason = "duplicate: another conjecture of the batch is the same problem";
        verdict = dup;
      } else {
        verdict = VerifyConjecture(input.completion, spec.conjecture);
      }
      break;
    case VerifierKind::kRubric: {
      // Criteria judge the final response, not the reasoning before it.
      std::string_view response = AnswerRegion(input.completion);
      p.first_query = queries.size();
      p.satisfied.assign(spec.rubric.criteria.size(), 0.0);
      for (size_t j = 0; j < spec.rubric.criteria.size(); ++j) {
        const Criterion& c = spec.rubric.criteria[j];
        if (c.kind == Criterion::Kind::kJudge) {
          p.judged.push_back(j);
          JudgeQuery q;
          q.prompt = RenderJudgePrompt(input.prompt, response,
                                       c.description.empty() ? c.title : c.description);
          queries.push_back(std::move(q));
        } else {
          ASSIGN_OR_RETURN(p.satisfied[j], CheckRule(c, response));
        }
      }
      break;
    }
  }
  if (verdict.has_value()) {
    if (!verdict->ok()) return verdict->status();
    const Verdict& v = **verdict;
    p.result.correct = v.correct;
    p.result.answer = v.answer;
    p.result.reason = v.reason;
    p.result.terms.push_back(
        {"correct", v.correct ? 1.0 : spec.incorrect_reward, spec.correct_weight});
  }

  if (spec.format) {
    FormatVerdict f = CheckFormat(input.completion, *spec.format);
    p.result.format_reason = f.reason;
    p.extra_terms.push_back({"format", f.ok ? 1.0 : 0.0, spec.format_weight});
  }
  if (spec.overlong) {
    int64_t length;
    if (spec.overlong->unit == OverlongOptions::Unit::kTokens) {
      if (input.completion_tokens < 0) {
        return absl::InvalidArgumentError(
            "overlong shaping counts tokens but the item has no completion_tokens");
      }
      length = input.completion_tokens;
    } else {
      length = static_cast<int64_t>(CountCodePoints(input.completion));
    }
    ASSIGN_OR_RETURN(double penalty, OverlongPenalty(length, *spec.overlong));
    p.extra_terms.push_back({"overlong", penalty, spec.overlong_weight});
  }
  return absl::OkStatus();
}

absl::StatusOr<RewardResult> Finish(const TaskSpec& spec, Pending& p) {
  if (spec.verifier == VerifierKind::kRubric) {
    ASSIGN_OR_RETURN(double r, AggregateRubric(spec.rubric, p.satisfied));
    for (size_t j = 0; j < spec.rubric.criteria.size(); ++j) {
      const Criterion& c = spec.rubric.criteria[j];
      p.result.criteria.push_back(
          {c.title, c.weight, p.satisfied[j], c.kind == Criterion::Kind::kJudge});
    }
    p.result.correct = r > 0;
    p.result.terms.push_back({"rubric", r, spec.correct_weight});
  }
  for (RewardTerm& t : p.extra_terms) p.result.terms.push_back(std::move(t));
  ASSIGN_OR_RETURN(CombinedReward combined, CombineTerms(std::move(p.result.terms)));
  p.result.total = combined.total;
  p.result.terms = std::move(combined.terms);
  return std::move(p.result);
}

}  // namespace

void MarkDuplicateConjectures(std::vector<ScoreRequest>* requests) {
  std::set<std::pair<std::string, std::string>> seen;  // (batch, canonical conjecture)
  for (ScoreRequest& r : *requests) {
    if (r.spec == nullptr || r.spec->verifier != VerifierKind::kConjecture) continue;
    std::optional<std::string> key = ConjectureKey(r.input.completion, r.spec->conjecture);
    if (!key) continue;  // the gate rejects it for its own reason
    if (!seen.emplace(r.spec->conjecture.batch, *key).second) r.input.duplicate = true;
  }
}

std::vector<absl::StatusOr<RewardResult>> ScoreBatch(const std::vector<ScoreRequest>& batch,
                                                     const ScoreOptions& options) {
  std::vector<ScoreRequest> requests = batch;
  MarkDuplicateConjectures(&requests);
  std::vector<absl::StatusOr<RewardResult>> out(requests.size(), absl::InternalError("not scored"));
  std::vector<Pending> pending(requests.size());
  std::vector<bool> ok(requests.size(), false);
  std::vector<JudgeQuery> queries;
  for (size_t i = 0; i < requests.size(); ++i) {
    if (requests[i].spec == nullptr) {
      out[i] = absl::InvalidArgumentError("request has no task spec");
      continue;
    }
    size_t before = queries.size();
    absl::Status s =
        ScoreLocally(*requests[i].spec, requests[i].input, options, pending[i], queries);
    if (!s.ok()) {
      queries.resize(before);  // drop the failed item's queries
      pending[i].judged.clear();
      out[i] = s;
      continue;
    }
    ok[i] = true;
  }

  std::vector<double> scores;
  absl::Status judge_status;
  if (!queries.empty()) {
    if (options.judge == nullptr) {
      judge_status =
          absl::FailedPreconditionError("rubric has judged criteria but no judge is configured");
    } else {
      auto judged = options.judge->Score(queries);
      if (!judged.ok()) {
        judge_status = judged.status();
      } else if (judged->size() != queries.size()) {
        judge_status = absl::InternalError(
            Cat("judge returned ", judged->size(), " scores for ", queries.size(), " queries"));
      } else {
        scores = std::move(*judged);
      }
    }
  }

  for (size_t i = 0; i < requests.size(); ++i) {
    if (!ok[i]) continue;
    Pending& p = pending[i];
    if (!p.judged.empty()) {
      if (!judge_status.ok()) {
        out[i] = judge_status;
        continue;
      }
      bool bad = false;
      for (size_t k = 0; k < p.judged.size(); ++k) {
        double s = scores[p.first_query + k];
        if (!(s >= 0.0 && s <= 1.0)) {
          out[i] = absl::InternalError(Cat("judge score ", s, " is outside [0, 1]"));
          bad = true;
          break;
        }
        p.satisfied[p.judged[k]] = s;
      }
      if (bad) continue;
    }
    out[i] = Finish(*requests[i].spec, p);
  }
  return out;
}

absl::StatusOr<RewardResult> ScoreItem(const TaskSpec& spec, const ScoreInput& input,
                                       const ScoreOptions& options) {
  std::vector<absl::StatusOr<RewardResult>> results =
      ScoreBatch({ScoreRequest{&spec, input}}, options);
  return std::move(results.front());
}

}  // namespace flywheel::reward
