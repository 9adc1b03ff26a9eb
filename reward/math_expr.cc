#include "reward/math_expr.h"

#include <cmath>
#include <cstdlib>
#include <optional>

#include "reward/text_util.h"

namespace flywheel::reward {
namespace {

using Kind = ExprNode::Kind;

bool IsFunctionName(std::string_view w) {
  return w == "sqrt" || w == "ln" || w == "log" || w == "exp" || w == "sin" || w == "cos" ||
         w == "tan";
}

bool IsGreek(std::string_view w) {
  static constexpr std::string_view kGreek[] = {
      "alpha", "beta",     "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta",
      "theta", "vartheta", "iota",  "kappa", "lambda",  "mu",         "nu",   "xi",
      "rho",   "sigma",    "tau",   "phi",   "varphi",  "chi",        "psi",  "omega"};
  for (std::string_view g : kGreek) {
    if (w == g) return true;
  }
  return false;
}

class Parser {
 public:
  Parser(std::string_view s, const ParseLimits& limits) : s_(s), limits_(limits) {}

  absl::StatusOr<ParsedAnswer> Run() {
    ParseTop();
    if (!error_.ok()) return error_;
    SkipSpace();
    if (pos_ < s_.size()) {
      Fail(Cat("unexpected '", s_.substr(pos_, 8), "'"));
      return error_;
    }
    return std::move(out_);
  }

 private:
  struct DepthGuard {
    explicit DepthGuard(Parser* p) : p(p) { ++p->depth_; }
    ~DepthGuard() { --p->depth_; }
    Parser* p;
  };

  // Records the first error; returns -1, the "no node" index, for the callers' convenience.
  int Fail(std::string_view why) {
    if (error_.ok()) {
      error_ = absl::InvalidArgumentError(Cat("cannot parse answer at offset ", pos_, ": ", why));
    }
    return -1;
  }

  void SkipSpace() {
    while (pos_ < s_.size() && IsSpace(s_[pos_])) ++pos_;
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ >= s_.size();
  }
  bool Peek(std::string_view t) {
    SkipSpace();
    return s_.substr(pos_, t.size()) == t;
  }
  bool Consume(std::string_view t) {
    if (!Peek(t)) return false;
    pos_ += t.size();
    return true;
  }
  // "\name" as a whole control word (not a prefix of a longer one).
  bool PeekWord(std::string_view name) {
    SkipSpace();
    if (s_.substr(pos_, name.size()) != name) return false;
    size_t after = pos_ + name.size();
    return after >= s_.size() || !IsAlpha(s_[after]);
  }
  bool ConsumeWord(std::string_view name) {
    if (!PeekWord(name)) return false;
    pos_ += name.size();
    return true;
  }

  int Add(ExprNode node) {
    if (out_.nodes.size() >= limits_.max_nodes) {
      return Fail("expression has too many nodes");
    }
    out_.nodes.push_back(std::move(node));
    return static_cast<int>(out_.nodes.size()) - 1;
  }
  int Op(Kind kind, int a, int b = -1) {
    if (a < 0 || (b < 0 && kind != Kind::kNeg && kind != Kind::kFactorial && kind != Kind::kFunc)) {
      return -1;
    }
    ExprNode n;
    n.kind = kind;
    n.args.push_back(a);
    if (b >= 0) n.args.push_back(b);
    return Add(std::move(n));
  }

  std::optional<std::string> PeekRelation() {
    SkipSpace();
    static constexpr std::pair<std::string_view, std::string_view> kRelations[] = {
        {"<=", "<="},         {">=", ">="},    {"!=", "!="},    {"\\leqslant", "<="},
        {"\\geqslant", ">="}, {"\\leq", "<="}, {"\\geq", ">="}, {"\\le", "<="},
        {"\\ge", ">="},       {"\\neq", "!="}, {"\\ne", "!="},  {"\\lt", "<"},
        {"\\gt", ">"},        {"<", "<"},      {">", ">"},      {"=", "="}};
    for (const auto& [text, rel] : kRelations) {
      if (text[0] == '\\' ? PeekWord(text) : Peek(text)) {
        rel_len_ = text.size();
        return std::string(rel);
      }
    }
    return std::nullopt;
  }

  void ParseTop() {
    SkipSpace();
    if (pos_ >= s_.size()) {
      Fail("empty answer");
      return;
    }
    if (TryBracketed()) return;
    if (!error_.ok()) return;
    int first = ParseExpr();
    if (first < 0) return;
    out_.items.push_back(first);
    if (Peek(",")) {
      while (Consume(",")) {
        int e = ParseExpr();
        if (e < 0) return;
        out_.items.push_back(e);
      }
      out_.shape = ParsedAnswer::Shape::kList;
      return;
    }
    if (auto rel = PeekRelation()) {
      pos_ += rel_len_;
      int rhs = ParseExpr();
      if (rhs < 0) return;
      out_.items.push_back(rhs);
      out_.shape = ParsedAnswer::Shape::kRelation;
      out_.relation = *rel;
    }
  }

  // "(a, b)", "[a, b)", "\{a, b\}" spanning the whole answer. Returns false (with the position
  // restored) when the text is something else, such as "(1+2)*3".
  bool TryBracketed() {
    size_t start = pos_;
    size_t nodes = out_.nodes.size();
    char open;
    bool set = false;
    if (Consume("\\{")) {
      open = '{';
      set = true;
    } else if (Consume("(")) {
      open = '(';
    } else if (Consume("[")) {
      open = '[';
    } else if (Consume("{")) {
      open = '{';
      set = true;
    } else {
      return false;
    }
    std::vector<int> items;
    int e = ParseExpr();
    if (e >= 0 && Peek(",")) {
      items.push_back(e);
      while (Consume(",")) {
        e = ParseExpr();
        if (e < 0) break;
        items.push_back(e);
      }
      char close = 0;
      if (e >= 0) {
        if (set) {
          if (Consume("\\}") || Consume("}")) close = '}';
        } else if (Consume(")")) {
          close = ')';
        } else if (Consume("]")) {
          close = ']';
        }
      }
      if (close != 0 && AtEnd()) {
        out_.shape = set ? ParsedAnswer::Shape::kSet : ParsedAnswer::Shape::kTuple;
        out_.open = open;
        out_.close = close;
        out_.items = std::move(items);
        return true;
      }
    }
    pos_ = start;
    out_.nodes.resize(nodes);
    error_ = absl::OkStatus();
    return false;
  }

  int ParseExpr() {
    DepthGuard guard(this);
    if (depth_ > limits_.max_depth) return Fail("nesting too deep");
    int lhs = ParseTerm();
    while (lhs >= 0) {
      if (Consume("+")) {
        lhs = Op(Kind::kAdd, lhs, ParseTerm());
      } else if (Peek("-")) {
        ++pos_;
        lhs = Op(Kind::kSub, lhs, ParseTerm());
      } else {
        break;
      }
    }
    return lhs;
  }

  bool IsIntegerLiteral(int i) const {
    const ExprNode& n = out_.nodes[i];
    return n.kind == Kind::kNumber && n.exact && !n.decimal && n.number.is_integer();
  }

  bool StartsImplicitFactor() {
    SkipSpace();
    if (pos_ >= s_.size()) return false;
    char c = s_[pos_];
    if (IsAlpha(c) || c == '(') return true;
    if (c != '\\') return false;
    for (std::string_view w : {"\\cdot", "\\times", "\\div", "\\le", "\\ge", "\\lt", "\\gt", "\\ne",
                               "\\neq", "\\leq", "\\geq", "\\leqslant", "\\geqslant"}) {
      if (PeekWord(w)) return false;
    }
    return pos_ + 1 < s_.size() && IsAlpha(s_[pos_ + 1]);
  }

  int ParseTerm() {
    int lhs = ParseUnary();
    while (lhs >= 0) {
      if (Consume("*") || ConsumeWord("\\cdot") || ConsumeWord("\\times")) {
        lhs = Op(Kind::kMul, lhs, ParseUnary());
      } else if (Consume("/") || ConsumeWord("\\div")) {
        lhs = Op(Kind::kDiv, lhs, ParseUnary());
      } else if (PeekWord("\\frac") && MixedNumberBase(lhs) >= 0) {
        // "2\frac{1}{2}" is the mixed number 2 1/2, as school texts and MATH write it.
        int frac = ParsePower();
        if (frac < 0) return -1;
        const ExprNode& f = out_.nodes[frac];
        bool proper =
            f.kind == Kind::kDiv && IsIntegerLiteral(f.args[0]) && IsIntegerLiteral(f.args[1]);
        if (!proper) {
          lhs = Op(Kind::kMul, lhs, frac);
        } else if (out_.nodes[lhs].kind == Kind::kNeg) {
          lhs = Op(Kind::kNeg, Op(Kind::kAdd, out_.nodes[lhs].args[0], frac));
        } else {
          lhs = Op(Kind::kAdd, lhs, frac);
        }
      } else if (StartsImplicitFactor()) {
        lhs = Op(Kind::kMul, lhs, ParsePower());
      } else {
        break;
      }
    }
    return lhs;
  }

  // The integer literal (or its negation) a following \frac would complete to a mixed number.
  int MixedNumberBase(int lhs) const {
    const ExprNode& n = out_.nodes[lhs];
    if (IsIntegerLiteral(lhs)) return lhs;
    if (n.kind == Kind::kNeg && IsIntegerLiteral(n.args[0])) return n.args[0];
    return -1;
  }

  int ParseUnary() {
    DepthGuard guard(this);
    if (depth_ > limits_.max_depth) return Fail("nesting too deep");
    if (Consume("-")) return Op(Kind::kNeg, ParseUnary());
    if (Consume("+")) return ParseUnary();
    return ParsePower();
  }

  int ParsePower() {
    int base = ParsePostfix();
    if (base < 0) return -1;
    if (Consume("^")) return Op(Kind::kPow, base, ParseExponent());
    return base;
  }

  // A superscript: "{...}", a number, a signed operand or another atom; right-associative.
  int ParseExponent() {
    DepthGuard guard(this);
    if (depth_ > limits_.max_depth) return Fail("nesting too deep");
    int e;
    if (Consume("-")) {
      e = Op(Kind::kNeg, ParseExponent());
      return e;
    }
    if (Consume("{")) {
      e = ParseExpr();
      if (e >= 0 && !Consume("}")) return Fail("missing '}' in exponent");
    } else {
      e = ParsePostfix();
    }
    if (e >= 0 && Consume("^")) return Op(Kind::kPow, e, ParseExponent());
    return e;
  }

  int ParsePostfix() {
    int a = ParseAtom();
    while (a >= 0 && Peek("!") && !Peek("!=")) {
      ++pos_;
      a = Op(Kind::kFactorial, a);
    }
    return a;
  }

  int ParseNumber() {
    size_t start = pos_;
    while (pos_ < s_.size() && IsDigit(s_[pos_])) ++pos_;
    bool decimal = false;
    if (pos_ + 1 < s_.size() && s_[pos_] == '.' && IsDigit(s_[pos_ + 1])) {
      decimal = true;
      ++pos_;
      while (pos_ < s_.size() && IsDigit(s_[pos_])) ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      size_t k = pos_ + 1;
      if (k < s_.size() && (s_[k] == '+' || s_[k] == '-')) ++k;
      if (k < s_.size() && IsDigit(s_[k])) {
        decimal = true;
        pos_ = k;
        while (pos_ < s_.size() && IsDigit(s_[pos_])) ++pos_;
      }
    }
    std::string_view literal = s_.substr(start, pos_ - start);
    ExprNode n;
    n.kind = Kind::kNumber;
    n.decimal = decimal;
    if (auto q = ParseDecimal(literal)) {
      n.number = *q;
    } else {
      n.exact = false;
      n.approx = std::strtod(std::string(literal).c_str(), nullptr);
    }
    return Add(std::move(n));
  }

  int Symbol(std::string name) {
    ExprNode n;
    n.kind = Kind::kSymbol;
    n.name = std::move(name);
    return Add(std::move(n));
  }
  int Constant(std::string name) {
    ExprNode n;
    n.kind = Kind::kConstant;
    n.name = std::move(name);
    return Add(std::move(n));
  }
  int Func(std::string name, int arg, int index = -1) {
    if (arg < 0) return -1;
    ExprNode n;
    n.kind = Kind::kFunc;
    n.name = std::move(name);
    n.args.push_back(arg);
    if (index >= 0) n.args.push_back(index);
    return Add(std::move(n));
  }

  // An argument of \frac or \sqrt: a braced group, or (LaTeX's rule) one character or command.
  int ParseArg() {
    SkipSpace();
    if (pos_ >= s_.size()) return Fail("missing argument");
    char c = s_[pos_];
    if (c == '{') {
      ++pos_;
      int e = ParseExpr();
      if (e >= 0 && !Consume("}")) return Fail("missing '}'");
      return e;
    }
    if (IsDigit(c)) {
      ExprNode n;
      n.kind = Kind::kNumber;
      n.number = Rational(c - '0');
      ++pos_;
      return Add(std::move(n));
    }
    if (IsAlpha(c)) {
      ++pos_;
      return Symbol(std::string(1, c));
    }
    if (c == '\\') return ParseAtom();
    return Fail("bad argument");
  }

  // Argument of \sin, \ln, ...: parenthesised or braced, or the next power-level operand.
  int ParseFuncArg() {
    if (Peek("(") || Peek("{")) return ParseAtom();
    return ParsePower();
  }

  std::string ReadSubscript() {
    if (pos_ >= s_.size() || s_[pos_] != '_') return "";
    size_t start = pos_++;
    if (pos_ < s_.size() && s_[pos_] == '{') {
      size_t close = s_.find('}', pos_);
      if (close == std::string_view::npos) return "";
      pos_ = close + 1;
    } else if (pos_ < s_.size() && (IsDigit(s_[pos_]) || IsAlpha(s_[pos_]))) {
      ++pos_;
    } else {
      pos_ = start;
      return "";
    }
    return std::string(s_.substr(start, pos_ - start));
  }

  int ParseAtom() {
    DepthGuard guard(this);
    if (depth_ > limits_.max_depth) return Fail("nesting too deep");
    SkipSpace();
    if (pos_ >= s_.size()) return Fail("unexpected end");
    char c = s_[pos_];
    if (IsDigit(c) || (c == '.' && pos_ + 1 < s_.size() && IsDigit(s_[pos_ + 1]))) {
      return ParseNumber();
    }
    if (c == '(' || c == '{') {
      ++pos_;
      int e = ParseExpr();
      if (e >= 0 && !Consume(c == '(' ? ")" : "}")) return Fail("unbalanced bracket");
      return e;
    }
    if (c == '|') {
      ++pos_;
      int e = ParseExpr();
      if (e >= 0 && !Consume("|")) return Fail("unbalanced '|'");
      return Func("abs", e);
    }
    if (IsAlpha(c)) {
      size_t start = pos_;
      while (pos_ < s_.size() && IsAlpha(s_[pos_])) ++pos_;
      std::string_view word = s_.substr(start, pos_ - start);
      if (IsFunctionName(word)) return Func(std::string(word), ParseFuncArg());
      if (word == "pi") return Constant("pi");
      if (word.size() == 1) return Symbol(std::string(word) + ReadSubscript());
      // Two letters are a product ("xy"); longer runs are words, which string comparison handles.
      if (word.size() == 2) {
        return Op(Kind::kMul, Symbol(std::string(1, word[0])), Symbol(std::string(1, word[1])));
      }
      pos_ = start;
      return Fail("text, not math");
    }
    if (c == '\\') {
      size_t start = ++pos_;
      while (pos_ < s_.size() && IsAlpha(s_[pos_])) ++pos_;
      std::string_view word = s_.substr(start, pos_ - start);
      if (word == "frac") {
        int num = ParseArg();
        if (num < 0) return -1;
        return Op(Kind::kDiv, num, ParseArg());
      }
      if (word == "sqrt") {
        int index = -1;
        if (Consume("[")) {
          index = ParseExpr();
          if (index < 0) return -1;
          if (!Consume("]")) return Fail("missing ']' in root index");
        }
        int arg = ParseArg();
        if (index >= 0) return Func("root", arg, index);
        return Func("sqrt", arg);
      }
      if (word == "pi") return Constant("pi");
      if (word == "infty" || word == "infinity") return Constant("infinity");
      if (IsFunctionName(word)) return Func(std::string(word), ParseFuncArg());
      if (IsGreek(word)) return Symbol(Cat("\\", word, ReadSubscript()));
      pos_ = start - 1;
      return Fail(Cat("unsupported command \\", word));
    }
    return Fail(Cat("unexpected '", std::string(1, c), "'"));
  }

  std::string_view s_;
  ParseLimits limits_;
  size_t pos_ = 0;
  size_t rel_len_ = 0;
  int depth_ = 0;
  absl::Status error_;
  ParsedAnswer out_;
};

}  // namespace

absl::StatusOr<ParsedAnswer> ParseAnswer(std::string_view text, const ParseLimits& limits) {
  return Parser(text, limits).Run();
}

}  // namespace flywheel::reward
