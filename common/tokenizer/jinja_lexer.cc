// Jinja's lexer rules (jinja2/lexer.py), re-derived for the default delimiters.
#include "common/tokenizer/jinja_lexer.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/tokenizer/python_str.h"
#include "common/tokenizer/utf8.h"

namespace flywheel::tokenizer::jinja {
namespace {

// Python's str.rstrip() on UTF-8: drops trailing whitespace code points.
void RStripSpace(std::string* s) {
  std::u32string u = py::ToU32(*s);
  while (!u.empty() && py::IsSpace(u.back())) u.pop_back();
  *s = py::FromU32(u);
}

// Length of the whitespace run (Python's \s*) at s[pos].
size_t SpaceRun(std::string_view s, size_t pos) {
  size_t p = pos;
  while (p < s.size()) {
    size_t next = p;
    if (!py::IsSpace(NextCodePoint(s, &next))) break;
    p = next;
  }
  return p - pos;
}

// Resolves the escapes Python's "unicode-escape" codec resolves in a string literal.
std::string Unescape(std::string_view body) {
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\' || i + 1 == body.size()) {
      out += body[i];
      continue;
    }
    const char c = body[++i];
    auto hex = [&](size_t digits) -> bool {
      char32_t cp = 0;
      for (size_t k = 1; k <= digits; ++k) {
        if (i + k >= body.size() || !std::isxdigit(static_cast<unsigned char>(body[i + k]))) {
          return false;
        }
        const char h = body[i + k];
        cp = cp * 16 +
             (std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (h | 0x20) - 'a' + 10);
      }
      if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
      AppendUtf8(cp, &out);
      i += digits;
      return true;
    };
    switch (c) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case '\\':
        out += '\\';
        break;
      case '\'':
        out += '\'';
        break;
      case '"':
        out += '"';
        break;
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'v':
        out += '\v';
        break;
      case '\n':
        break;  // line continuation
      case 'x':
        if (!hex(2)) out += "\\x";
        break;
      case 'u':
        if (!hex(4)) out += "\\u";
        break;
      case 'U':
        if (!hex(8)) out += "\\U";
        break;
      default:
        if (c >= '0' && c <= '7') {
          int value = c - '0';
          for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7';
               ++k) {
            value = value * 8 + (body[++i] - '0');
          }
          AppendUtf8(static_cast<char32_t>(value), &out);
        } else {
          out += '\\';
          out += c;
        }
    }
  }
  return out;
}

bool StartsWith(std::string_view s, size_t pos, std::string_view prefix) {
  return s.compare(pos, prefix.size(), prefix) == 0;
}

class Lexer {
 public:
  Lexer(std::string source, const LexerOptions& options)
      : src_(std::move(source)), options_(options) {}

  absl::StatusOr<std::vector<Token>> Run() {
    bool line_starting = true;  // the text before the next tag starts a line
    while (pos_ < src_.size()) {
      // The next tag opening.
      size_t open = pos_;
      while ((open = src_.find('{', open)) != std::string::npos) {
        if (open + 1 < src_.size() &&
            (src_[open + 1] == '{' || src_[open + 1] == '%' || src_[open + 1] == '#')) {
          break;
        }
        ++open;
      }
      if (open == std::string::npos) {
        Emit(TokenType::kData, src_.substr(pos_));
        break;
      }
      std::string data = src_.substr(pos_, open - pos_);
      const char kind = src_[open + 1];
      const char sign = open + 2 < src_.size() ? src_[open + 2] : '\0';
      if (sign == '-') {
        RStripSpace(&data);
      } else if (sign != '+' && options_.lstrip_blocks && kind != '{') {
        const size_t line_begin = data.rfind('\n') == std::string::npos ? 0 : data.rfind('\n') + 1;
        if ((line_begin > 0 || line_starting) &&
            data.find_first_not_of(" \t", line_begin) == std::string::npos) {
          data.resize(line_begin);
        }
      }
      if (!data.empty()) Emit(TokenType::kData, data);
      line_ += static_cast<int>(std::count(src_.begin() + pos_, src_.begin() + open, '\n'));
      pos_ = open + 2 + (sign == '-' || sign == '+' ? 1 : 0);
      absl::Status st = kind == '#' ? Comment() : Tag(kind);
      if (!st.ok()) return st;
      line_starting = pos_ > 0 && src_[pos_ - 1] == '\n';
    }
    Emit(TokenType::kEnd, "");
    return std::move(tokens_);
  }

 private:
  void Emit(TokenType type, std::string value) {
    tokens_.push_back({type, std::move(value), line_});
  }

  absl::Status Error(const std::string& what) const {
    return absl::InvalidArgumentError(absl::StrCat("template line ", line_, ": ", what));
  }

  // After a closing delimiter at pos_ (already consumed): '-' strips following whitespace,
  // trim_blocks drops one newline after block and comment tags.
  void AfterClose(char sign, bool block_like) {
    if (sign == '-') {
      pos_ += SpaceRun(src_, pos_);
    } else if (sign != '+' && block_like && options_.trim_blocks && pos_ < src_.size() &&
               src_[pos_] == '\n') {
      ++pos_;
    }
  }

  absl::Status Comment() {
    const size_t close = src_.find("#}", pos_);
    if (close == std::string::npos) return Error("unterminated comment");
    const char sign =
        close > pos_ && (src_[close - 1] == '-' || src_[close - 1] == '+') ? src_[close - 1] : '\0';
    line_ += static_cast<int>(std::count(src_.begin() + pos_, src_.begin() + close, '\n'));
    pos_ = close + 2;
    AfterClose(sign, true);
    return absl::OkStatus();
  }

  absl::Status Tag(char kind) {
    const bool block = kind == '%';
    Emit(block ? TokenType::kBlockBegin : TokenType::kVarBegin, "");
    const size_t first_token = tokens_.size();
    int depth = 0;  // open brackets: a closing delimiter inside them is not the tag's end
    while (true) {
      // Whitespace.
      while (pos_ < src_.size()) {
        size_t n = SpaceRun(src_, pos_);
        if (n == 0) break;
        line_ += static_cast<int>(std::count(src_.begin() + pos_, src_.begin() + pos_ + n, '\n'));
        pos_ += n;
      }
      if (pos_ >= src_.size()) return Error(block ? "unterminated '{%'" : "unterminated '{{'");
      const std::string_view close = block ? "%}" : "}}";
      if (depth == 0) {
        char sign = '\0';
        if ((src_[pos_] == '-' || src_[pos_] == '+') && StartsWith(src_, pos_ + 1, close)) {
          sign = src_[pos_++];
        }
        if (StartsWith(src_, pos_, close)) {
          pos_ += 2;
          Emit(block ? TokenType::kBlockEnd : TokenType::kVarEnd, "");
          AfterClose(sign, block);
          if (block && tokens_.size() == first_token + 2 && tokens_[first_token].value == "raw") {
            return Raw();
          }
          return absl::OkStatus();
        }
        if (sign != '\0') --pos_;
      }
      RETURN_IF_ERROR(NextToken(&depth));
    }
  }

  // {% raw %}...{% endraw %}: the text in between is data, tags and all.
  absl::Status Raw() {
    tokens_.resize(tokens_.size() - 3);  // {% raw %}
    size_t search = pos_;
    while (true) {
      size_t open = src_.find("{%", search);
      if (open == std::string::npos) return Error("missing {% endraw %}");
      size_t p = open + 2;
      const char sign = p < src_.size() && (src_[p] == '-' || src_[p] == '+') ? src_[p++] : '\0';
      p += SpaceRun(src_, p);
      if (!StartsWith(src_, p, "endraw")) {
        search = open + 2;
        continue;
      }
      p += 6;
      p += SpaceRun(src_, p);
      const char end_sign =
          p < src_.size() && (src_[p] == '-' || src_[p] == '+') ? src_[p++] : '\0';
      if (!StartsWith(src_, p, "%}")) return Error("malformed {% endraw %}");
      std::string data = src_.substr(pos_, open - pos_);
      if (sign == '-') RStripSpace(&data);
      if (!data.empty()) Emit(TokenType::kData, data);
      line_ += static_cast<int>(std::count(src_.begin() + pos_, src_.begin() + p, '\n'));
      pos_ = p + 2;
      AfterClose(end_sign, true);
      return absl::OkStatus();
    }
  }

  absl::Status NextToken(int* depth) {
    const char c = src_[pos_];
    if (std::isdigit(static_cast<unsigned char>(c))) return Number();
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t end = pos_;
      while (end < src_.size() &&
             (std::isalnum(static_cast<unsigned char>(src_[end])) || src_[end] == '_')) {
        ++end;
      }
      Emit(TokenType::kName, src_.substr(pos_, end - pos_));
      pos_ = end;
      return absl::OkStatus();
    }
    if (c == '\'' || c == '"') {
      size_t p = pos_ + 1;
      while (p < src_.size() && src_[p] != c) p += src_[p] == '\\' ? 2 : 1;
      if (p >= src_.size()) return Error("unterminated string");
      line_ += static_cast<int>(std::count(src_.begin() + pos_, src_.begin() + p, '\n'));
      Emit(TokenType::kString, Unescape(std::string_view(src_).substr(pos_ + 1, p - pos_ - 1)));
      pos_ = p + 1;
      return absl::OkStatus();
    }
    for (std::string_view op : {"//", "**", "==", "!=", ">=", "<="}) {
      if (StartsWith(src_, pos_, op)) {
        Emit(TokenType::kOperator, std::string(op));
        pos_ += 2;
        return absl::OkStatus();
      }
    }
    if (std::string_view("+-*/%~<>=.,:|()[]{}").find(c) != std::string_view::npos) {
      if (c == '(' || c == '[' || c == '{') ++*depth;
      if ((c == ')' || c == ']' || c == '}') && *depth > 0) --*depth;
      Emit(TokenType::kOperator, std::string(1, c));
      ++pos_;
      return absl::OkStatus();
    }
    return Error(absl::StrCat("unexpected character '", std::string(1, c), "'"));
  }

  absl::Status Number() {
    size_t p = pos_;
    auto digits = [&] {
      while (p < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[p])) ||
                                 (src_[p] == '_' && p + 1 < src_.size() &&
                                  std::isdigit(static_cast<unsigned char>(src_[p + 1]))))) {
        ++p;
      }
    };
    digits();
    bool is_float = false;
    if (p + 1 < src_.size() && src_[p] == '.' &&
        std::isdigit(static_cast<unsigned char>(src_[p + 1]))) {
      is_float = true;
      ++p;
      digits();
    }
    if (p < src_.size() && (src_[p] == 'e' || src_[p] == 'E')) {
      size_t q = p + 1;
      if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) ++q;
      if (q < src_.size() && std::isdigit(static_cast<unsigned char>(src_[q]))) {
        is_float = true;
        p = q;
        digits();
      }
    }
    std::string text = src_.substr(pos_, p - pos_);
    text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
    Emit(is_float ? TokenType::kFloat : TokenType::kInteger, text);
    pos_ = p;
    return absl::OkStatus();
  }

  std::string src_;
  LexerOptions options_;
  size_t pos_ = 0;
  int line_ = 1;
  std::vector<Token> tokens_;
};

// Every newline sequence becomes '\n'; one trailing newline goes (keep_trailing_newline=False).
std::string NormalizeNewlines(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace

absl::StatusOr<std::vector<Token>> Lex(std::string_view source, const LexerOptions& options) {
  if (auto st = ValidateUtf8(source); !st.ok()) return st;
  return Lexer(NormalizeNewlines(source), options).Run();
}

}  // namespace flywheel::tokenizer::jinja
