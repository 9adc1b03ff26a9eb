#include "reward/math_normalize.h"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <utility>
#include <vector>

#include "reward/text_util.h"

namespace flywheel::reward {
namespace {

std::string ReplaceAll(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (true) {
    size_t hit = s.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(s.substr(pos, hit - pos));
    out.append(to);
    pos = hit + from.size();
  }
  out.append(s.substr(pos));
  return out;
}

// Removes the control word `name` (with its backslash) where it is not the prefix of a longer
// control word: "\left(" loses "\left" but "\leftarrow" stays.
std::string RemoveControlWord(std::string_view s, std::string_view name) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (true) {
    size_t hit = s.find(name, pos);
    if (hit == std::string_view::npos) break;
    size_t after = hit + name.size();
    out.append(s.substr(pos, hit - pos));
    if (after < s.size() && IsAlpha(s[after])) out.append(name);
    pos = after;
  }
  out.append(s.substr(pos));
  return out;
}

// Removes `mark` where it sits between two digits ("1\,000", "1 000" with a thin space).
std::string DropBetweenDigits(std::string_view s, std::string_view mark) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0, hit;
  while ((hit = s.find(mark, pos)) != std::string_view::npos) {
    out.append(s.substr(pos, hit - pos));
    size_t after = hit + mark.size();
    bool between_digits = hit > 0 && IsDigit(s[hit - 1]) && after < s.size() && IsDigit(s[after]);
    if (!between_digits) out.append(mark);
    pos = after;
  }
  out.append(s.substr(pos));
  return out;
}

bool StripWrapper(std::string_view& s, std::string_view open, std::string_view close) {
  if (s.size() >= open.size() + close.size() && s.substr(0, open.size()) == open &&
      s.substr(s.size() - close.size()) == close) {
    s = Trim(s.substr(open.size(), s.size() - open.size() - close.size()));
    return true;
  }
  return false;
}

bool IsTrailingPunct(char c) {
  // Not '!': "5!" is a factorial.
  return c == '.' || c == ',' || c == ';' || c == ':' || c == '?';
}

std::string StripTrailingPunct(std::string_view s) {
  s = Trim(s);
  while (!s.empty() && IsTrailingPunct(s.back())) s = Trim(s.substr(0, s.size() - 1));
  return std::string(s);
}

// Removes commas that are thousands separators, see NormalizeOptions::thousands_separators.
std::string DropThousandsSeparators(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    bool number_start =
        IsDigit(s[i]) && (i == 0 || (!IsDigit(s[i - 1]) && s[i - 1] != '.' && s[i - 1] != ','));
    if (!number_start) {
      out.push_back(s[i++]);
      continue;
    }
    size_t j = i;
    while (j < n && IsDigit(s[j])) ++j;
    size_t lead = j - i;
    size_t k = j;
    int groups = 0;
    while (k + 3 < n && s[k] == ',' && IsDigit(s[k + 1]) && IsDigit(s[k + 2]) &&
           IsDigit(s[k + 3]) && (k + 4 == n || !IsDigit(s[k + 4]))) {
      k += 4;
      ++groups;
    }
    // "1,000,5" or "1,0000" is a list, not a grouped number: leave it untouched.
    bool clean = groups > 0 && lead <= 3 && !(k + 1 < n && s[k] == ',' && IsDigit(s[k + 1]));
    for (size_t t = i; t < k; ++t) {
      if (!(clean && s[t] == ',')) out.push_back(s[t]);
    }
    i = k;
  }
  return out;
}

bool IsUnitChar(char c) {
  return IsAlpha(c) || c == '.' || c == '/' || c == '^' || c == '-' || c == '\'' || c == '2' ||
         c == '3';
}

// Drops trailing unit words after a numeric head: "540 meters" -> "540", "10cm" -> "10",
// "5 m/s^2" -> "5". The head must hold a digit and no letters outside control words, so "2x",
// "x + 1" and "\pi r" keep their letters.
std::string StripUnits(std::string_view s) {
  s = Trim(s);
  size_t cut = s.size();
  while (cut > 0) {
    size_t w = cut;
    while (w > 0 && IsUnitChar(s[w - 1])) --w;
    if (w == cut) break;
    std::string_view word = s.substr(w, cut - w);
    bool has_letter = false, digits_in_exponent = true;
    for (size_t k = 0; k < word.size(); ++k) {
      has_letter |= IsAlpha(word[k]);
      // Digits belong to a unit only as its exponent ("m^2"); "1.5e3" is a number.
      if (IsDigit(word[k]) && (k == 0 || word[k - 1] != '^')) digits_in_exponent = false;
    }
    if (!has_letter || !digits_in_exponent || !IsAlpha(word.front())) break;
    bool spaced = w > 0 && IsSpace(s[w - 1]);
    if (!spaced && w > 0 && s[w - 1] == '\\') break;  // a control word such as \pi
    // Attached units need two letters so that "2x" stays an expression.
    if (!spaced && word.size() < 2) break;
    size_t head_end = w;
    while (head_end > 0 && IsSpace(s[head_end - 1])) --head_end;
    if (head_end == 0) break;
    cut = head_end;
    if (!spaced) break;  // "10cm": nothing glued before the number can be a unit
  }
  if (cut == s.size() || cut == 0) return std::string(s);
  std::string_view head = Trim(s.substr(0, cut));
  bool digit = false;
  for (size_t i = 0; i < head.size(); ++i) {
    char c = head[i];
    if (c == '\\') {
      ++i;
      while (i < head.size() && IsAlpha(head[i])) ++i;  // skip the control word
      --i;
      continue;
    }
    if (IsAlpha(c)) return std::string(s);
    digit |= IsDigit(c);
  }
  char last = head.back();
  if (!digit || !(IsDigit(last) || last == '}' || last == ')' || last == '%'))
    return std::string(s);
  return std::string(head);
}

// True when `word` occurs in `lower` as a word of its own (not inside a longer word and not a
// control word such as \or).
bool HasWord(std::string_view lower, std::string_view word) {
  for (size_t pos = lower.find(word); pos != std::string_view::npos;
       pos = lower.find(word, pos + 1)) {
    bool left = pos == 0 || (!IsAlpha(lower[pos - 1]) && lower[pos - 1] != '\\');
    bool right = pos + word.size() == lower.size() || !IsAlpha(lower[pos + word.size()]);
    if (left && right) return true;
  }
  return false;
}

}  // namespace

std::string UnwrapCommands(std::string_view s, std::initializer_list<std::string_view> names,
                           bool pad_with_spaces) {
  // Pass 1: match braces with a stack, remembering which '{' opens a wrapper and where each
  // matched one closes. Two linear passes instead of repeated search-and-splice, which would be
  // quadratic on a long text full of \text{}.
  const size_t n = s.size();
  std::vector<size_t> wrapper_open;   // offsets of "\name" for wrappers whose '{' got matched
  std::vector<size_t> wrapper_brace;  // offset of that '{'
  std::vector<size_t> wrapper_close;  // offset of the matching '}'
  struct Open {
    size_t brace;
    size_t command;  // npos for a plain group
  };
  std::vector<Open> stack;
  for (size_t i = 0; i < n; ++i) {
    char c = s[i];
    if (c == '\\') {
      size_t j = i + 1;
      while (j < n && IsAlpha(s[j])) ++j;
      std::string_view word = s.substr(i, j - i);
      bool wrapper = false;
      for (std::string_view name : names) wrapper |= word == name;
      size_t k = j;
      while (k < n && s[k] == ' ') ++k;
      if (wrapper && k < n && s[k] == '{') {
        stack.push_back({k, i});
        i = k;
      } else {
        i = (j > i + 1) ? j - 1 : i + 1;  // skip the control word or the escaped character
      }
      continue;
    }
    if (c == '{') {
      stack.push_back({i, std::string_view::npos});
    } else if (c == '}' && !stack.empty()) {
      Open top = stack.back();
      stack.pop_back();
      if (top.command != std::string_view::npos) {
        wrapper_open.push_back(top.command);
        wrapper_brace.push_back(top.brace);
        wrapper_close.push_back(i);
      }
    }
  }
  if (wrapper_open.empty()) return std::string(s);
  // Pass 2: copy, dropping "\name{" and turning its '}' into the pad. The opens were recorded in
  // closing order; sort the three lists by position for the merge.
  std::vector<std::pair<size_t, size_t>> skips;  // [from, to) ranges to replace by the pad
  for (size_t w = 0; w < wrapper_open.size(); ++w) {
    skips.push_back({wrapper_open[w], wrapper_brace[w] + 1});
    skips.push_back({wrapper_close[w], wrapper_close[w] + 1});
  }
  std::sort(skips.begin(), skips.end());
  std::string out;
  out.reserve(n + skips.size());
  size_t pos = 0;
  for (const auto& [from, to] : skips) {
    out.append(s.substr(pos, from - pos));
    if (pad_with_spaces) out.push_back(' ');
    pos = to;
  }
  out.append(s.substr(pos));
  return out;
}

NormalizedAnswer NormalizeMathAnswer(std::string_view answer, const NormalizeOptions& options) {
  NormalizedAnswer result;
  std::string s(Trim(answer));

  // Unicode forms models emit for ASCII/LaTeX ones. Thin and no-break spaces between digits are
  // digit grouping ("1 000"), elsewhere plain spaces.
  static const std::array<std::pair<std::string_view, std::string_view>, 18> kUnicode = {{
      {"\u2212", "-"},
      {"\u2013", "-"},
      {"\u00d7", "\\times "},
      {"\u00f7", "\\div "},
      {"\u00b7", "\\cdot "},
      {"\u22c5", "\\cdot "},
      {"\u03c0", "\\pi "},
      {"\u221a", "\\sqrt"},
      {"\u221e", "\\infty "},
      {"\u00b0", ""},
      {"\u2264", "\\le "},
      {"\u2265", "\\ge "},
      {"\u2260", "\\ne "},
      {"\u20ac", ""},
      {"\u00a3", ""},
      {"\u00a5", ""},
      {"\u20b9", ""},
      {"\u2248", "="},
  }};
  for (const auto& [from, to] : kUnicode) {
    if (s.find(from) != std::string::npos) s = ReplaceAll(s, from, to);
  }
  for (std::string_view space : {"\u2009", "\u202f", "\u00a0"}) {
    s = DropBetweenDigits(s, space);
    s = ReplaceAll(s, space, " ");
  }

  // Math delimiters around the whole answer, then any '$' left is a currency sign.
  {
    std::string_view v = Trim(s);
    while (StripWrapper(v, "$$", "$$") || StripWrapper(v, "$", "$") ||
           StripWrapper(v, "\\(", "\\)") || StripWrapper(v, "\\[", "\\]")) {
    }
    s = std::string(v);
  }
  s = ReplaceAll(s, "\\$", "");
  s = ReplaceAll(s, "$", "");

  s = UnwrapCommands(s, {"\\boxed", "\\fbox"}, false);

  // Sizing and spacing commands change the look only. "\left." is an invisible delimiter.
  s = ReplaceAll(s, "\\left.", "");
  s = ReplaceAll(s, "\\right.", "");
  for (std::string_view word : {"\\left", "\\right", "\\bigl", "\\bigr", "\\Bigl", "\\Bigr",
                                "\\big", "\\Big", "\\displaystyle", "\\quad", "\\qquad"}) {
    s = RemoveControlWord(s, word);
  }
  s = DropBetweenDigits(s, "\\,");  // 1\,000 is digit grouping
  for (std::string_view space : {"\\!", "\\,", "\\;", "\\:", "\\ "}) s = ReplaceAll(s, space, " ");
  s = ReplaceAll(s, "~", " ");
  s = ReplaceAll(s, "{,}", ",");  // LaTeX's unspaced comma, as in 1{,}000
  for (std::string_view frac : {"\\dfrac", "\\tfrac", "\\cfrac"}) s = ReplaceAll(s, frac, "\\frac");
  s = ReplaceAll(s, "\\approx", "=");

  // Degrees: 30^\circ, 30^{\circ}, 30\degree.
  for (std::string_view deg :
       {"^{\\circ}", "^\\circ", "^{\\degree}", "^\\degree", "\\degree", "\\circ"}) {
    s = ReplaceAll(s, deg, "");
  }
  s = ReplaceAll(s, "\\%", "%");

  s = UnwrapCommands(s,
                     {"\\text", "\\textbf", "\\textit", "\\textrm", "\\textnormal", "\\mathrm",
                      "\\mathbf", "\\mathit", "\\mbox", "\\operatorname", "\\emph"},
                     true);
  s = CollapseWhitespace(s);

  std::string lower = AsciiLower(s);
  result.hedged = HasWord(lower, "or") || HasWord(lower, "either") ||
                  lower.find("\\lor") != std::string::npos ||
                  lower.find("\\vee") != std::string::npos;
  // "2 and 3" is the list "2, 3" (MATH writes all solutions comma-separated).
  s = ReplaceAll(s, " and ", ", ");

  s = StripTrailingPunct(s);
  {
    std::string l = AsciiLower(s);
    constexpr std::string_view kPercent = "percent";
    if (l.size() > kPercent.size() &&
        l.compare(l.size() - kPercent.size(), kPercent.size(), kPercent) == 0) {
      char before = l[l.size() - kPercent.size() - 1];
      if (IsDigit(before) || IsSpace(before)) {
        result.percent = true;
        s = StripTrailingPunct(s.substr(0, s.size() - kPercent.size()));
      }
    }
  }
  if (options.thousands_separators) s = DropThousandsSeparators(s);
  if (options.strip_units) s = StripUnits(s);  // "25% of the students" -> "25%"
  if (!s.empty() && s.back() == '%') {
    result.percent = true;
    s = StripTrailingPunct(s.substr(0, s.size() - 1));
  }
  result.text = std::string(Trim(s));
  return result;
}

}  // namespace flywheel::reward
