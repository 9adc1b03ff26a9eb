#include "reward/text_verifiers.h"

#include "reward/math_normalize.h"
#include "reward/text_util.h"

namespace flywheel::reward {
namespace {

bool IsAsciiPunct(char c) {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
         (c >= '{' && c <= '~');
}

std::string UnwrapLatex(std::string_view s) {
  std::string out = UnwrapCommands(
      Trim(s),
      {"\\boxed", "\\fbox", "\\text", "\\textbf", "\\textit", "\\mathrm", "\\mathbf", "\\mbox"},
      false);
  std::string cleaned;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '$') continue;
    if (out[i] == '*' && i + 1 < out.size() && out[i + 1] == '*') {
      ++i;
      continue;
    }
    cleaned.push_back(out[i]);
  }
  return cleaned;
}

std::string Clip(std::string_view s) {
  constexpr size_t kShown = 200;  // enough to recognise an answer in a log line
  return s.size() <= kShown ? std::string(s) : Cat(s.substr(0, kShown), "...");
}

}  // namespace

std::string NormalizeText(std::string_view text, const TextNormalizeOptions& options) {
  std::string s = options.unwrap_latex ? UnwrapLatex(text) : std::string(text);
  if (!options.case_sensitive) s = AsciiLower(s);
  if (options.strip_punctuation) {
    std::string_view v = Trim(s);
    while (!v.empty() && IsAsciiPunct(v.front())) v = Trim(v.substr(1));
    while (!v.empty() && IsAsciiPunct(v.back())) v = Trim(v.substr(0, v.size() - 1));
    s = std::string(v);
  }
  if (options.strip_articles) {
    std::string out;
    size_t i = 0;
    while (i < s.size()) {
      size_t j = i;
      while (j < s.size() && !IsSpace(s[j])) ++j;
      std::string lower = AsciiLower(std::string_view(s).substr(i, j - i));
      if (lower != "a" && lower != "an" && lower != "the") out.append(s, i, j - i);
      while (j < s.size() && IsSpace(s[j])) out.push_back(s[j++]);
      i = j;
    }
    s = std::move(out);
  }
  if (options.collapse_whitespace) return CollapseWhitespace(s);
  return std::string(Trim(s));
}

absl::StatusOr<TextAnswerSet> TextAnswers(std::string_view completion,
                                          const TextVerifyOptions& options) {
  TextAnswerSet out;
  std::string_view region = options.answer_after_think ? AnswerRegion(completion) : completion;
  if (options.use_markers) {
    ExtractOptions extract = options.extract;
    extract.last_number = false;
    auto found = ExtractFinalAnswers(region, extract);
    if (!found.ok()) return found.status();
    if (!found->answers.empty()) {
      out.answers = std::move(found->answers);
      out.too_many = found->too_many;
      return out;
    }
  }
  std::string_view whole = Trim(region);
  if (!whole.empty()) out.answers.emplace_back(whole);
  return out;
}

// Fills `verdict` and returns false when the answer set alone decides the item (none, too many).
bool CheckAnswerSet(const TextAnswerSet& set, size_t max_answers, Verdict& verdict) {
  if (set.answers.empty()) {
    verdict.reason = "no answer";
    return false;
  }
  verdict.answer = Clip(set.answers.front());
  if (set.too_many) {
    verdict.reason = Cat("more than ", max_answers, " final answers");
    return false;
  }
  return true;
}

absl::StatusOr<Verdict> VerifyExact(const std::vector<std::string>& golds,
                                    std::string_view completion, const TextVerifyOptions& options) {
  Verdict verdict;
  auto set = TextAnswers(completion, options);
  if (!set.ok()) return set.status();
  if (!CheckAnswerSet(*set, options.extract.max_answers, verdict)) return verdict;
  const std::vector<std::string>& answers = set->answers;
  std::string first = NormalizeText(answers.front(), options.normalize);
  for (const std::string& a : answers) {
    if (NormalizeText(a, options.normalize) != first) {
      verdict.reason =
          Cat("several different final answers: \"", verdict.answer, "\" and \"", Clip(a), "\"");
      return verdict;
    }
  }
  for (const std::string& gold : golds) {
    if (NormalizeText(gold, options.normalize) == first) {
      verdict.correct = true;
      return verdict;
    }
  }
  verdict.reason = Cat("answer \"", verdict.answer, "\" matches no gold");
  return verdict;
}

absl::StatusOr<Verdict> VerifyRegex(const Regex& regex, std::string_view completion,
                                    const RegexVerifyOptions& options) {
  Verdict verdict;
  if (!options.full_match) {
    std::string_view region =
        options.text.answer_after_think ? AnswerRegion(completion) : completion;
    auto hit = regex.Search(region);
    if (!hit.ok()) return hit.status();
    verdict.correct = *hit;
    if (!verdict.correct) verdict.reason = "pattern not found in the answer";
    return verdict;
  }
  auto set = TextAnswers(completion, options.text);
  if (!set.ok()) return set.status();
  if (!CheckAnswerSet(*set, options.text.extract.max_answers, verdict)) return verdict;
  const std::vector<std::string>& answers = set->answers;
  for (const std::string& a : answers) {
    if (Trim(a) != Trim(answers.front())) {
      verdict.reason = "several different final answers";
      return verdict;
    }
  }
  auto hit = regex.FullMatch(Trim(answers.front()));
  if (!hit.ok()) return hit.status();
  verdict.correct = *hit;
  if (!verdict.correct) verdict.reason = Cat("answer \"", verdict.answer, "\" does not match");
  return verdict;
}

char ParseChoiceLetter(std::string_view answer, std::string_view letters) {
  std::string s = UnwrapLatex(answer);
  std::string_view v = Trim(s);
  for (std::string_view prefix : {"option", "choice"}) {
    if (v.size() > prefix.size() && AsciiLower(v.substr(0, prefix.size())) == prefix &&
        !IsAlpha(v[prefix.size()])) {
      v = Trim(v.substr(prefix.size()));
      if (!v.empty() && v.front() == ':') v = Trim(v.substr(1));
    }
  }
  while (!v.empty() && (v.back() == '.' || v.back() == ':' || v.back() == ';')) {
    v = Trim(v.substr(0, v.size() - 1));
  }
  auto valid = [&](char c) { return letters.find(c) != std::string_view::npos; };
  auto upper = [](char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; };
  char letter = 0;
  // The whole answer is one letter, possibly bracketed: lower case is accepted here only.
  std::string_view bare = v;
  if (bare.size() == 3 &&
      ((bare[0] == '(' && bare[2] == ')') || (bare[0] == '[' && bare[2] == ']'))) {
    bare = bare.substr(1, 1);
  }
  if (bare.size() == 1 && valid(upper(bare[0]))) return upper(bare[0]);
  // A letter introducing the option's text: "(B) Paris", "B) Paris", "B. Paris", "B: Paris".
  if (v.size() >= 3 && v[0] == '(' && v[2] == ')' && valid(v[1])) {
    letter = v[1];
  } else if (v.size() >= 2 && valid(v[0]) && (v[1] == ')' || v[1] == '.' || v[1] == ':') &&
             (v.size() == 2 || IsSpace(v[2]))) {
    letter = v[0];
  } else if (v.size() >= 2 && valid(v[0]) && IsSpace(v[1])) {
    letter = v[0];  // "B Paris"
  }
  if (letter == 0) return 0;
  // Another option letter joined by "or", "and", ',' or '/' is a hedge: "A or B", "(A), (C)".
  bool has_joiner = v.find(" or ") != std::string_view::npos ||
                    v.find(" and ") != std::string_view::npos ||
                    v.find(',') != std::string_view::npos ||
                    v.find('/') != std::string_view::npos || v.find('&') != std::string_view::npos;
  if (has_joiner) {
    for (size_t i = 0; i < v.size(); ++i) {
      bool standalone = (i == 0 || !IsAlpha(v[i - 1])) && (i + 1 == v.size() || !IsAlpha(v[i + 1]));
      if (standalone && valid(v[i]) && v[i] != letter) return '?';
    }
  }
  return letter;
}

absl::StatusOr<Verdict> VerifyChoice(char gold, std::string_view completion,
                                     const ChoiceOptions& options) {
  Verdict verdict;
  auto set = TextAnswers(completion, options.text);
  if (!set.ok()) return set.status();
  if (!CheckAnswerSet(*set, options.text.extract.max_answers, verdict)) return verdict;
  const std::vector<std::string>& answers = set->answers;
  char chosen = 0;
  for (const std::string& a : answers) {
    char c = ParseChoiceLetter(a, options.letters);
    if (c == 0 && answers.size() == 1) {
      // Unmarked reasoning that ends with the choice on its own line.
      std::string_view t = Trim(a);
      size_t nl = t.rfind('\n');
      if (nl != std::string_view::npos) c = ParseChoiceLetter(t.substr(nl + 1), options.letters);
    }
    if (c == '?') {
      verdict.reason = Cat("hedged choice \"", Clip(a), "\"");
      return verdict;
    }
    if (c == 0) {
      verdict.reason = Cat("no option letter in \"", Clip(a), "\"");
      return verdict;
    }
    if (chosen != 0 && c != chosen) {
      verdict.reason =
          Cat("several different choices: ", std::string(1, chosen), " and ", std::string(1, c));
      return verdict;
    }
    chosen = c;
  }
  verdict.answer = std::string(1, chosen);
  verdict.correct = chosen == gold;
  if (!verdict.correct)
    verdict.reason = Cat("chose ", verdict.answer, ", gold is ", std::string(1, gold));
  return verdict;
}

}  // namespace flywheel::reward
