#include "reward/math_verifier.h"

#include "reward/text_util.h"

namespace flywheel::reward {
namespace {

std::string Clip(std::string_view s) {
  // Enough of an answer to recognise it in a log line.
  constexpr size_t kShown = 200;
  if (s.size() <= kShown) return std::string(s);
  return Cat(s.substr(0, kShown), "...");
}

}  // namespace

absl::StatusOr<std::string> PrepareMathGold(std::string_view raw_gold,
                                            const MathVerifyOptions& options) {
  std::string gold(Trim(raw_gold));
  if (gold.empty()) return absl::InvalidArgumentError("math verifier: gold answer is empty");
  if (gold.find("\\boxed") != std::string::npos || gold.find("\\fbox") != std::string::npos ||
      gold.find("####") != std::string::npos) {
    ExtractOptions extract = options.extract;
    extract.boxed = extract.hashes = true;
    extract.answer_phrase = extract.last_number = false;
    auto found = ExtractFinalAnswers(gold, extract);
    if (!found.ok()) return found.status();
    if (found->answers.empty()) {
      return absl::InvalidArgumentError("math verifier: gold has a marker but no final answer");
    }
    for (const std::string& a : found->answers) {
      if (!MathAnswersEqual(found->answers.front(), a, options.compare)) {
        return absl::InvalidArgumentError(
            Cat("math verifier: gold has several different final answers: \"",
                Clip(found->answers.front()), "\" and \"", Clip(a), "\""));
      }
    }
    gold = std::move(found->answers.back());
  }
  if (gold.size() > options.max_answer_bytes) {
    return absl::InvalidArgumentError(Cat("math verifier: gold answer is ", gold.size(),
                                          " bytes, over the limit of ", options.max_answer_bytes));
  }
  if (NormalizeMathAnswer(gold, options.compare.normalize).text.empty()) {
    return absl::InvalidArgumentError(
        Cat("math verifier: gold \"", Clip(gold), "\" is empty after normalisation"));
  }
  return gold;
}

absl::StatusOr<Verdict> VerifyMath(std::string_view gold, std::string_view completion,
                                   const MathVerifyOptions& options) {
  Verdict verdict;
  std::string_view region = options.answer_after_think ? AnswerRegion(completion) : completion;
  auto found = ExtractFinalAnswers(region, options.extract);
  if (!found.ok()) return found.status();
  if (found->answers.empty()) {
    verdict.reason = region.empty() && !completion.empty() ? "no answer after the reasoning"
                                                           : "no final answer found";
    return verdict;
  }
  verdict.answer = Clip(found->answers.front());
  if (found->too_many) {
    verdict.reason = Cat("more than ", options.extract.max_answers, " final answers");
    return verdict;
  }
  for (const std::string& a : found->answers) {
    if (a.size() > options.max_answer_bytes) {
      verdict.reason =
          Cat("final answer is ", a.size(), " bytes, over the limit of ", options.max_answer_bytes);
      return verdict;
    }
  }
  NormalizedAnswer g = NormalizeMathAnswer(gold, options.compare.normalize);
  std::vector<NormalizedAnswer> preds;
  for (const std::string& a : found->answers) {
    preds.push_back(NormalizeMathAnswer(a, options.compare.normalize));
  }
  // Several final answers count only when they all say the same thing; otherwise the completion
  // is hedging across markers ("\boxed{1} or \boxed{2}").
  for (size_t i = 1; i < preds.size(); ++i) {
    if (!NormalizedAnswersEqual(preds[0], preds[i], options.compare)) {
      verdict.reason =
          Cat("several different final answers (", AnswerSourceName(found->source), "): \"",
              Clip(found->answers[0]), "\" and \"", Clip(found->answers[i]), "\"");
      return verdict;
    }
  }
  if (preds[0].hedged && !g.hedged) {
    verdict.reason = Cat("hedged answer \"", verdict.answer, "\"");
    return verdict;
  }
  if (preds[0].text.empty()) {
    verdict.reason = "empty final answer";
    return verdict;
  }
  verdict.correct = NormalizedAnswersEqual(g, preds[0], options.compare);
  if (!verdict.correct) {
    verdict.reason = Cat("answer \"", verdict.answer, "\" does not match the gold");
  }
  return verdict;
}

}  // namespace flywheel::reward
