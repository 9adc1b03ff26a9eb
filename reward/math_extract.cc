#include "reward/math_extract.h"

#include <algorithm>

#include "reward/text_util.h"

namespace flywheel::reward {
namespace {

bool StartsWithAt(std::string_view s, size_t i, std::string_view prefix) {
  return s.size() >= i + prefix.size() && s.compare(i, prefix.size(), prefix) == 0;
}

// Appends unless the list is full; returns false once it is.
bool Push(Extraction& out, std::string_view answer, size_t max_answers) {
  if (out.answers.size() >= max_answers) {
    out.too_many = true;
    return false;
  }
  out.answers.emplace_back(Trim(answer));
  return true;
}

// One pass with an explicit stack: each '{' is matched once, so nested boxes cost no rescans.
absl::Status ScanBoxes(std::string_view s, int max_depth, size_t max_answers, Extraction& out) {
  struct Open {
    size_t pos;
    bool box;
  };
  std::vector<Open> stack;
  int open_boxes = 0;
  const size_t n = s.size();
  for (size_t i = 0; i < n; ++i) {
    char c = s[i];
    if (c == '\\') {
      size_t name_len = 0;
      if (StartsWithAt(s, i, "\\boxed")) name_len = 6;
      if (StartsWithAt(s, i, "\\fbox")) name_len = 5;
      if (name_len == 0 || (i + name_len < n && IsAlpha(s[i + name_len]))) {
        ++i;  // an escaped character ('\{' is a literal brace) or another command
        continue;
      }
      size_t k = i + name_len;
      while (k < n && (s[k] == ' ' || s[k] == '\t')) ++k;
      if (k < n && s[k] == '{') {
        if (static_cast<int>(stack.size()) >= max_depth) {
          return absl::InvalidArgumentError(
              Cat("completion nests braces deeper than ", max_depth, " (at offset ", k, ")"));
        }
        stack.push_back({k, true});
        ++open_boxes;
        i = k;
      } else if (k > i + name_len && open_boxes == 0) {
        // "\boxed 5": the answer runs to the end of the math span or the next whitespace.
        size_t end = k;
        while (end < n && s[end] != '$' && !IsSpace(s[end])) ++end;
        if (end > k && !Push(out, s.substr(k, end - k), max_answers)) return absl::OkStatus();
        i = end - 1;
      } else {
        i = k - 1;
      }
      continue;
    }
    if (c == '{') {
      if (static_cast<int>(stack.size()) >= max_depth) {
        return absl::InvalidArgumentError(
            Cat("completion nests braces deeper than ", max_depth, " (at offset ", i, ")"));
      }
      stack.push_back({i, false});
    } else if (c == '}' && !stack.empty()) {
      Open top = stack.back();
      stack.pop_back();
      if (top.box && --open_boxes == 0) {
        if (!Push(out, s.substr(top.pos + 1, i - top.pos - 1), max_answers)) {
          return absl::OkStatus();
        }
      }
    }
  }
  // A box still open at the end was cut off; it is not an answer.
  return absl::OkStatus();
}

// Markdown uses "####" for headings ("#### Step 1: Add the costs"); a GSM8K answer line holds a
// number or an expression. Two or more words of letters without an '=' read as a heading.
bool LooksLikeHeading(std::string_view content) {
  if (content.find('=') != std::string_view::npos) return false;
  int words = 0;
  for (size_t i = 0; i < content.size();) {
    if (!IsAlpha(content[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < content.size() && IsAlpha(content[j])) ++j;
    bool command = i > 0 && content[i - 1] == '\\';  // \frac, \text: LaTeX, not words
    if (!command && j - i >= 2) ++words;
    i = j;
  }
  return words >= 2;
}

void ScanHashes(std::string_view s, size_t max_answers, Extraction& out) {
  for (size_t pos = s.find("####"); pos != std::string_view::npos; pos = s.find("####", pos)) {
    size_t start = pos + 4;
    while (start < s.size() && s[start] == '#') ++start;
    size_t end = s.find('\n', start);
    if (end == std::string_view::npos) end = s.size();
    std::string_view answer = Trim(s.substr(start, end - start));
    if (!answer.empty() && !LooksLikeHeading(answer) && !Push(out, answer, max_answers)) return;
    pos = end;
  }
}

// Cuts a phrase answer at the end of its sentence: a '.' followed by whitespace or the end of
// the line ("3.5" keeps its point because a digit follows).
std::string_view CutSentence(std::string_view a) {
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == '.' && (i + 1 == a.size() || IsSpace(a[i + 1]))) return a.substr(0, i);
  }
  return a;
}

std::string_view StripMarkdownEmphasis(std::string_view a) {
  a = Trim(a);
  while (!a.empty() && (a.front() == '*' || a.front() == '_')) a.remove_prefix(1);
  while (!a.empty() && (a.back() == '*' || a.back() == '_')) a.remove_suffix(1);
  return Trim(a);
}

// How far past a marker an answer line is looked for. Longer than any answer worth comparing
// (InputLimits::max_answer_bytes), and it keeps "answer:answer:answer:..." on one huge line from
// turning the scan quadratic.
constexpr size_t kPhraseWindow = 4096;

size_t LineEnd(std::string_view s, size_t from) {
  size_t limit = std::min(s.size(), from + kPhraseWindow);
  size_t end = s.substr(0, limit).find('\n', from);
  return end == std::string_view::npos ? limit : end;
}

void ScanAnswerPhrases(std::string_view s, size_t max_answers, Extraction& out) {
  const size_t n = s.size();
  for (size_t pos = FindCaseInsensitive(s, "answer"); pos != std::string_view::npos;
       pos = FindCaseInsensitive(s, "answer", pos + 6)) {
    if (pos > 0 && IsAlpha(s[pos - 1])) continue;  // "wanswer", not a word of its own
    size_t i = pos + 6;
    auto skip_decor = [&] {
      while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '*' || s[i] == '_')) ++i;
    };
    skip_decor();
    if (i < n && s[i] == ':') {
      ++i;
    } else if (i + 1 < n && (s[i] == 'i' || s[i] == 'I') && (s[i + 1] == 's' || s[i + 1] == 'S') &&
               (i + 2 == n || !IsAlpha(s[i + 2]))) {
      i += 2;
      skip_decor();
      if (i < n && s[i] == ':') ++i;
    } else {
      continue;
    }
    size_t end = LineEnd(s, i);
    std::string_view answer = StripMarkdownEmphasis(s.substr(i, end - i));
    if (answer.empty() && end < n) {
      // "Answer:\n42": the answer sits on the next non-empty line.
      size_t next = end + 1;
      while (next < n && next < end + kPhraseWindow) {
        size_t line_end = LineEnd(s, next);
        answer = StripMarkdownEmphasis(s.substr(next, line_end - next));
        if (!answer.empty()) break;
        next = line_end + 1;
      }
    }
    answer = StripMarkdownEmphasis(CutSentence(answer));
    if (!answer.empty() && !Push(out, answer, max_answers)) return;
  }
}

void ScanLastNumber(std::string_view s, Extraction& out) {
  size_t e = s.size();
  while (e > 0 && !IsDigit(s[e - 1])) --e;
  if (e == 0) return;
  size_t b = e - 1;
  // Grow left over digits and over ',', '.', '/' that sit between digits ("1,000", "3.5", "2/3").
  while (b > 0) {
    char p = s[b - 1];
    if (IsDigit(p)) {
      --b;
    } else if ((p == ',' || p == '.' || p == '/') && b >= 2 && IsDigit(s[b - 2])) {
      --b;
    } else {
      break;
    }
  }
  if (b > 0 && s[b - 1] == '-' && (b == 1 || (!IsAlpha(s[b - 2]) && !IsDigit(s[b - 2])))) --b;
  size_t end = e;
  if (end < s.size() && s[end] == '%') ++end;
  out.answers.emplace_back(s.substr(b, end - b));
}

}  // namespace

std::string_view AnswerSourceName(AnswerSource source) {
  switch (source) {
    case AnswerSource::kNone:
      return "none";
    case AnswerSource::kBoxed:
      return "boxed";
    case AnswerSource::kHashes:
      return "hashes";
    case AnswerSource::kAnswerPhrase:
      return "answer_phrase";
    case AnswerSource::kLastNumber:
      return "last_number";
  }
  return "unknown";
}

absl::StatusOr<Extraction> ExtractFinalAnswers(std::string_view text,
                                               const ExtractOptions& options) {
  Extraction out;
  if (options.boxed) {
    if (auto s = ScanBoxes(text, options.max_brace_depth, options.max_answers, out); !s.ok()) {
      return s;
    }
    if (!out.answers.empty()) {
      out.source = AnswerSource::kBoxed;
      return out;
    }
  }
  if (options.hashes) {
    ScanHashes(text, options.max_answers, out);
    if (!out.answers.empty()) {
      out.source = AnswerSource::kHashes;
      return out;
    }
  }
  if (options.answer_phrase) {
    ScanAnswerPhrases(text, options.max_answers, out);
    if (!out.answers.empty()) {
      out.source = AnswerSource::kAnswerPhrase;
      return out;
    }
  }
  if (options.last_number) {
    ScanLastNumber(text, out);
    if (!out.answers.empty()) out.source = AnswerSource::kLastNumber;
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> ExtractBoxed(std::string_view text, int max_brace_depth) {
  Extraction out;
  // Golds are short; a generous cap is only a guard.
  if (auto s = ScanBoxes(text, max_brace_depth, 1024, out); !s.ok()) return s;
  return out.answers;
}

}  // namespace flywheel::reward
