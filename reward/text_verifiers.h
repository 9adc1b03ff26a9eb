// The `exact`, `regex` and `choice` verifiers. Each judges the completion's final answer: the
// answer under a marker (\boxed{}, "#### ...", "Answer: ...") when there is one — several
// different marked answers are wrong, as for math — and otherwise the whole answer region (the
// text after </think>).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "reward/math_extract.h"
#include "reward/regex.h"
#include "reward/verdict.h"

namespace flywheel::reward {

struct TextNormalizeOptions {
  bool case_sensitive = false;
  bool collapse_whitespace = true;
  // Punctuation at either end is dropped ("Paris." == "Paris"); inner punctuation stays.
  bool strip_punctuation = true;
  // Drop the words "a", "an", "the" (SQuAD-style answer normalisation).
  bool strip_articles = false;
  // Unwrap $...$, \text{...}, \textbf{...}, \boxed{...} and markdown ** around the answer.
  bool unwrap_latex = true;
};

std::string NormalizeText(std::string_view text, const TextNormalizeOptions& options);

struct TextVerifyOptions {
  TextNormalizeOptions normalize;
  // Prefer a marked final answer over the whole answer region.
  bool use_markers = true;
  bool answer_after_think = true;  // see AnswerRegion
  ExtractOptions extract;          // which markers; last_number is ignored here
};

struct TextAnswerSet {
  std::vector<std::string> answers;  // empty when there is no answer at all
  bool too_many = false;             // more marked answers than extract.max_answers: wrong
};

// The candidate answers a text verifier judges (see the file comment). InvalidArgument only for
// braces nested past extract.max_brace_depth.
absl::StatusOr<TextAnswerSet> TextAnswers(std::string_view completion,
                                          const TextVerifyOptions& options);

// Correct when the answer equals any of `golds` after normalisation.
absl::StatusOr<Verdict> VerifyExact(const std::vector<std::string>& golds,
                                    std::string_view completion, const TextVerifyOptions& options);

struct RegexVerifyOptions {
  TextVerifyOptions text;
  // true: the pattern must match the whole (trimmed) final answer. false: it must match somewhere
  // in the answer region.
  bool full_match = true;
};

// ResourceExhausted when the pattern hits its PCRE2 match limit on this completion.
absl::StatusOr<Verdict> VerifyRegex(const Regex& regex, std::string_view completion,
                                    const RegexVerifyOptions& options);

struct ChoiceOptions {
  TextVerifyOptions text;
  // The valid option letters. MMLU-Pro has ten options, A-J.
  std::string letters = "ABCDEFGHIJ";
};

// The option letter an answer names: "B", "(B)", "B)", "B. Paris", "\text{(B)}", "Option B".
// 0 when it names none; '?' when it names several ("A or B").
char ParseChoiceLetter(std::string_view answer, std::string_view letters);

// `gold` is one of options.letters (upper case).
absl::StatusOr<Verdict> VerifyChoice(char gold, std::string_view completion,
                                     const ChoiceOptions& options);

}  // namespace flywheel::reward
