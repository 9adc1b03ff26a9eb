// The self-play task's expression language; see arith_expr.h.
#include "reward/arith_expr.h"

#include <cctype>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace flywheel::reward {
namespace {

struct Node {
  char op = 0;       // 0 for a literal
  std::string text;  // a literal's digits
  std::unique_ptr<Node> left, right;
};

int Precedence(char op) { return op == '+' || op == '-' ? 1 : 2; }

// A character as an error message quotes it: itself when printable ASCII, else "\xNN" (a
// single byte of a multi-byte character would make the reason invalid UTF-8, which protobuf
// refuses to carry in a string field).
std::string Printable(char c) {
  if (absl::ascii_isprint(static_cast<unsigned char>(c))) return std::string(1, c);
  return absl::StrCat("\\x", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
}

class Parser {
 public:
  Parser(std::string_view text, const ArithLimits& limits) : s_(text), limits_(limits) {
    for (char c : text) chars_ += c != ' ' && c != '\t';
  }

  ArithParse Run() {
    ArithParse out;
    if (chars_ == 0) return Fail(ArithError::kEmpty, "empty");
    if (chars_ > limits_.max_chars) {
      return Fail(ArithError::kTooLong,
                  absl::StrCat(chars_, " characters, at most ", limits_.max_chars));
    }
    std::unique_ptr<Node> root = Expr(0);
    if (error_ == ArithError::kOk && !AtEnd()) {
      const char c = s_[pos_];
      const bool known =
          IsOperator(c) || c == '(' || c == ')' || std::isdigit(static_cast<unsigned char>(c));
      SetError(known ? ArithError::kSyntax : ArithError::kOperator,
               absl::StrCat("unexpected '", Printable(c), "' at ", pos_));
    }
    if (error_ == ArithError::kOk && ops_ > limits_.max_ops) {
      SetError(ArithError::kTooLong, absl::StrCat(ops_, " operators, at most ", limits_.max_ops));
    }
    if (error_ != ArithError::kOk) return Fail(error_, detail_);
    auto value = Eval(*root);
    if (!value) return Fail(error_, detail_);
    out.expr.value = *value;
    out.expr.ops = ops_;
    out.expr.canonical = Print(*root, 0, false);
    return out;
  }

 private:
  ArithParse Fail(ArithError e, std::string detail) {
    ArithParse p;
    p.error = e;
    p.detail = std::move(detail);
    return p;
  }
  void SetError(ArithError e, std::string detail) {
    if (error_ != ArithError::kOk) return;
    error_ = e;
    detail_ = std::move(detail);
  }
  // Skips spaces; true at the end of the text. Spaces separate tokens but never join them.
  bool AtEnd() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
    return pos_ >= s_.size();
  }
  bool IsOperator(char c) const { return c == '+' || c == '-' || c == '*' || c == '/'; }
  bool Allowed(char op) const { return limits_.ops.find(op) != std::string::npos; }

  std::unique_ptr<Node> Expr(int depth) {
    std::unique_ptr<Node> left = Term(depth);
    while (error_ == ArithError::kOk && !AtEnd() && (s_[pos_] == '+' || s_[pos_] == '-')) {
      left = Binary(std::move(left), depth, /*term=*/false);
    }
    return left;
  }

  std::unique_ptr<Node> Term(int depth) {
    std::unique_ptr<Node> left = Factor(depth);
    while (error_ == ArithError::kOk && !AtEnd() && (s_[pos_] == '*' || s_[pos_] == '/')) {
      left = Binary(std::move(left), depth, /*term=*/true);
    }
    return left;
  }

  std::unique_ptr<Node> Binary(std::unique_ptr<Node> left, int depth, bool term) {
    const char op = s_[pos_++];
    if (!Allowed(op)) {
      SetError(ArithError::kOperator,
               absl::StrCat("operator '", Printable(op), "' is not in \"", limits_.ops, "\""));
      return nullptr;
    }
    ++ops_;
    auto node = std::make_unique<Node>();
    node->op = op;
    node->left = std::move(left);
    node->right = term ? Factor(depth) : Term(depth);
    return node;
  }

  std::unique_ptr<Node> Factor(int depth) {
    if (AtEnd()) {
      SetError(ArithError::kSyntax, "the expression ends where a number is expected");
      return nullptr;
    }
    const char c = s_[pos_];
    if (c == '(') {
      if (depth + 1 > limits_.max_depth) {
        SetError(ArithError::kTooLong,
                 absl::StrCat("parentheses nest deeper than ", limits_.max_depth));
        return nullptr;
      }
      ++pos_;
      std::unique_ptr<Node> inner = Expr(depth + 1);
      if (error_ != ArithError::kOk) return nullptr;
      if (AtEnd() || s_[pos_] != ')') {
        SetError(ArithError::kSyntax, "unbalanced parenthesis");
        return nullptr;
      }
      ++pos_;
      return inner;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) return Number();
    if (IsOperator(c)) {
      SetError(c == '-' || c == '+' ? ArithError::kLiteral : ArithError::kSyntax,
               absl::StrCat("'", Printable(c), "' where a number is expected (no signs)"));
    } else if (c == ')') {
      SetError(ArithError::kSyntax, "unbalanced parenthesis");
    } else {
      SetError(ArithError::kOperator,
               absl::StrCat("character '", Printable(c), "' is not in the task's language"));
    }
    return nullptr;
  }

  std::unique_ptr<Node> Number() {
    const size_t start = pos_;
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    auto node = std::make_unique<Node>();
    node->text = std::string(s_.substr(start, pos_ - start));
    if (pos_ < s_.size() && (s_[pos_] == '.' || s_[pos_] == ',')) {
      SetError(ArithError::kLiteral, absl::StrCat("a decimal number after ", node->text));
    } else if (node->text.size() > 1 && node->text[0] == '0') {
      SetError(ArithError::kLiteral, absl::StrCat("leading zero in ", node->text));
    } else if (static_cast<int>(node->text.size()) > limits_.max_digits) {
      SetError(ArithError::kLiteral,
               absl::StrCat(node->text, " has more than ", limits_.max_digits, " digits"));
    }
    return node;
  }

  std::optional<Rational> Eval(const Node& n) {
    if (n.op == 0) {
      Rational::Int v = 0;
      for (char d : n.text) v = v * 10 + (d - '0');  // at most max_digits <= 38 digits
      return Rational::Make(v, 1);
    }
    auto a = Eval(*n.left);
    if (!a) return std::nullopt;
    auto b = Eval(*n.right);
    if (!b) return std::nullopt;
    std::optional<Rational> r;
    switch (n.op) {
      case '+':
        r = Add(*a, *b);
        break;
      case '-':
        r = Sub(*a, *b);
        break;
      case '*':
        r = Mul(*a, *b);
        break;
      default:
        if (b->is_zero()) {
          SetError(ArithError::kNotExact, "division by zero");
          return std::nullopt;
        }
        r = Div(*a, *b);
        if (r && !r->is_integer()) {
          SetError(ArithError::kNotExact,
                   absl::StrCat(a->ToString(), "/", b->ToString(), " is not a whole number"));
          return std::nullopt;
        }
    }
    if (!r) SetError(ArithError::kOverflow, "a value does not fit in 128 bits");
    return r;
  }

  // Parentheses only where precedence or a non-associative right operand needs them.
  std::string Print(const Node& n, int parent_precedence, bool right_of_minus_or_divide) const {
    if (n.op == 0) return n.text;
    const int p = Precedence(n.op);
    std::string body = absl::StrCat(Print(*n.left, p, false), std::string(1, n.op),
                                    Print(*n.right, p, n.op == '-' || n.op == '/'));
    const bool parens =
        p < parent_precedence || (p == parent_precedence && right_of_minus_or_divide);
    return parens ? absl::StrCat("(", body, ")") : body;
  }

  std::string_view s_;
  size_t chars_ = 0;  // non-space characters
  const ArithLimits& limits_;
  size_t pos_ = 0;
  int ops_ = 0;
  ArithError error_ = ArithError::kOk;
  std::string detail_;
};

}  // namespace

std::string_view ArithErrorName(ArithError error) {
  switch (error) {
    case ArithError::kOk:
      return "ok";
    case ArithError::kEmpty:
      return "unparseable";
    case ArithError::kSyntax:
      return "unparseable";
    case ArithError::kOperator:
      return "not_in_grammar";
    case ArithError::kLiteral:
      return "not_in_grammar";
    case ArithError::kTooLong:
      return "too_long";
    case ArithError::kNotExact:
      return "not_exact";
    case ArithError::kOverflow:
      return "out_of_range";
  }
  return "unknown";
}

ArithParse ParseArith(std::string_view text, const ArithLimits& limits) {
  return Parser(text, limits).Run();
}

}  // namespace flywheel::reward
