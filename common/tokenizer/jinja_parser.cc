// Recursive descent over Jinja's grammar (jinja2/parser.py), lowest precedence first:
// conditional, or, and, not, comparisons (in, not in), + -, ~, * / // %, **, unary - +, then
// primaries with their postfix attribute, item, call, filter and test operations.
#include "common/tokenizer/jinja_parser.h"

#include <algorithm>
#include <initializer_list>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"

namespace flywheel::tokenizer::jinja {
namespace {

class Parser {
 public:
  explicit Parser(const std::vector<Token>& tokens) : t_(tokens) {}

  absl::StatusOr<Body> Template() {
    ASSIGN_OR_RETURN(Body body, ParseBody({}));
    if (Peek().type != TokenType::kEnd) return Error("unexpected tag");
    return body;
  }

 private:
  const Token& Peek(size_t ahead = 0) const { return t_[std::min(pos_ + ahead, t_.size() - 1)]; }
  const Token& Next() { return t_[std::min(pos_++, t_.size() - 1)]; }
  bool IsOp(std::string_view op, size_t ahead = 0) const {
    return Peek(ahead).type == TokenType::kOperator && Peek(ahead).value == op;
  }
  bool IsName(std::string_view name, size_t ahead = 0) const {
    return Peek(ahead).type == TokenType::kName && Peek(ahead).value == name;
  }
  absl::Status Error(const std::string& what) const {
    const Token& t = Peek();
    std::string near = t.type == TokenType::kEnd        ? "end of template"
                       : t.type == TokenType::kBlockEnd ? "'%}'"
                       : t.type == TokenType::kVarEnd   ? "'}}'"
                                                        : absl::StrCat("'", t.value, "'");
    return absl::InvalidArgumentError(
        absl::StrCat("template line ", t.line, ": ", what, " (at ", near, ")"));
  }
  absl::Status ExpectOp(const std::string& op) {
    if (!IsOp(op)) return Error(absl::StrCat("expected '", op, "'"));
    ++pos_;
    return absl::OkStatus();
  }
  absl::Status Expect(TokenType type, const std::string& what) {
    if (Peek().type != type) return Error(absl::StrCat("expected ", what));
    ++pos_;
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> ExpectName() {
    if (Peek().type != TokenType::kName) return Error("expected a name");
    return Next().value;
  }
  absl::Status EndTag() { return Expect(TokenType::kBlockEnd, "'%}'"); }

  ExprPtr Make(Expr::Type type) {
    auto e = std::make_unique<Expr>();
    e->type = type;
    e->line = Peek().line;
    return e;
  }

  // Statements until a block tag named in `ends` (left unconsumed, after its '{%').
  absl::StatusOr<Body> ParseBody(std::initializer_list<std::string_view> ends) {
    Body body;
    while (true) {
      const Token& t = Peek();
      if (t.type == TokenType::kEnd) {
        if (ends.size() == 0) return body;
        return Error(absl::StrCat("missing {% ", std::string(*ends.begin()), " %}"));
      }
      if (t.type == TokenType::kData) {
        auto s = std::make_unique<Stmt>();
        s->type = Stmt::Type::kData;
        s->text = Next().value;
        body.push_back(std::move(s));
        continue;
      }
      if (t.type == TokenType::kVarBegin) {
        ++pos_;
        auto s = std::make_unique<Stmt>();
        s->type = Stmt::Type::kPrint;
        s->line = t.line;
        ASSIGN_OR_RETURN(s->expr, Tuple(true));
        RETURN_IF_ERROR(Expect(TokenType::kVarEnd, "'}}'"));
        body.push_back(std::move(s));
        continue;
      }
      if (t.type != TokenType::kBlockBegin) return Error("unexpected token");
      if (Peek(1).type != TokenType::kName) {
        ++pos_;
        return Error("expected a statement name");
      }
      const std::string& keyword = Peek(1).value;
      if (std::find(ends.begin(), ends.end(), keyword) != ends.end()) {
        ++pos_;  // leaves the keyword for the caller
        return body;
      }
      pos_ += 2;
      ASSIGN_OR_RETURN(auto s, Statement(keyword, t.line));
      body.push_back(std::move(s));
    }
  }

  // After a statement's arguments: '%}', the body up to {% end %}, and that closing tag.
  absl::Status BlockTo(const char* end, Body* body) {
    RETURN_IF_ERROR(EndTag());
    ASSIGN_OR_RETURN(*body, ParseBody({end}));
    ++pos_;
    if (Peek().type == TokenType::kName) ++pos_;  // {% endmacro name %}
    return EndTag();
  }

  absl::StatusOr<std::unique_ptr<Stmt>> Statement(const std::string& keyword, int line) {
    auto s = std::make_unique<Stmt>();
    s->line = line;
    if (keyword == "if") {
      s->type = Stmt::Type::kIf;
      while (true) {
        ASSIGN_OR_RETURN(auto cond, Tuple(true));
        RETURN_IF_ERROR(EndTag());
        ASSIGN_OR_RETURN(Body body, ParseBody({"elif", "else", "endif"}));
        s->conditions.push_back(std::move(cond));
        s->bodies.push_back(std::move(body));
        const std::string end = Next().value;
        if (end == "elif") continue;
        if (end == "else") RETURN_IF_ERROR(BlockTo("endif", &s->else_body));
        if (end == "endif") RETURN_IF_ERROR(EndTag());
        return s;
      }
    }
    if (keyword == "for") {
      s->type = Stmt::Type::kFor;
      ASSIGN_OR_RETURN(s->targets, Targets());
      if (!IsName("in")) return Error("expected 'in'");
      ++pos_;
      ASSIGN_OR_RETURN(s->expr, Tuple(false));
      if (IsName("if")) {
        ++pos_;
        ASSIGN_OR_RETURN(s->condition, Expression());
      }
      if (IsName("recursive")) return Error("recursive loops are not supported");
      RETURN_IF_ERROR(EndTag());
      ASSIGN_OR_RETURN(s->body, ParseBody({"else", "endfor"}));
      if (Next().value == "else") {
        RETURN_IF_ERROR(BlockTo("endfor", &s->else_body));
      } else {
        RETURN_IF_ERROR(EndTag());
      }
      return s;
    }
    if (keyword == "set") {
      if (Peek().type == TokenType::kName && IsOp(".", 1)) {
        s->type = Stmt::Type::kSet;
        s->targets.push_back(Next().value);
        ++pos_;
        ASSIGN_OR_RETURN(s->attribute, ExpectName());
        RETURN_IF_ERROR(ExpectOp("="));
        ASSIGN_OR_RETURN(s->expr, Tuple(true));
        RETURN_IF_ERROR(EndTag());
        return s;
      }
      ASSIGN_OR_RETURN(s->targets, Targets());
      if (IsOp("=")) {
        ++pos_;
        s->type = Stmt::Type::kSet;
        ASSIGN_OR_RETURN(s->expr, Tuple(true));
        RETURN_IF_ERROR(EndTag());
        return s;
      }
      if (s->targets.size() != 1) return Error("a set block assigns one name");
      s->type = Stmt::Type::kSetBlock;
      if (IsOp("|")) {
        ASSIGN_OR_RETURN(s->expr, FilterChain(nullptr));
      }
      RETURN_IF_ERROR(BlockTo("endset", &s->body));
      return s;
    }
    if (keyword == "macro") {
      s->type = Stmt::Type::kMacro;
      ASSIGN_OR_RETURN(std::string name, ExpectName());
      s->targets.push_back(name);
      RETURN_IF_ERROR(ExpectOp("("));
      while (!IsOp(")")) {
        if (!s->params.empty()) RETURN_IF_ERROR(ExpectOp(","));
        if (IsOp(")")) break;
        ASSIGN_OR_RETURN(std::string param, ExpectName());
        s->params.push_back(param);
        ExprPtr fallback;
        if (IsOp("=")) {
          ++pos_;
          ASSIGN_OR_RETURN(fallback, Expression());
        }
        s->values.push_back(std::move(fallback));
      }
      ++pos_;
      RETURN_IF_ERROR(BlockTo("endmacro", &s->body));
      return s;
    }
    if (keyword == "filter") {
      s->type = Stmt::Type::kFilterBlock;
      --pos_;  // FilterChain expects to see the filter name after a '|'; fake it below
      ASSIGN_OR_RETURN(s->expr, FilterChain(nullptr, /*first_without_pipe=*/true));
      RETURN_IF_ERROR(BlockTo("endfilter", &s->body));
      return s;
    }
    if (keyword == "with") {
      s->type = Stmt::Type::kWith;
      while (Peek().type != TokenType::kBlockEnd) {
        if (!s->targets.empty()) RETURN_IF_ERROR(ExpectOp(","));
        ASSIGN_OR_RETURN(std::string name, ExpectName());
        RETURN_IF_ERROR(ExpectOp("="));
        ASSIGN_OR_RETURN(auto value, Expression());
        s->targets.push_back(name);
        s->values.push_back(std::move(value));
      }
      RETURN_IF_ERROR(BlockTo("endwith", &s->body));
      return s;
    }
    if (keyword == "generation") {
      s->type = Stmt::Type::kGeneration;
      RETURN_IF_ERROR(BlockTo("endgeneration", &s->body));
      return s;
    }
    if (keyword == "break" || keyword == "continue") {
      s->type = keyword == "break" ? Stmt::Type::kBreak : Stmt::Type::kContinue;
      RETURN_IF_ERROR(EndTag());
      return s;
    }
    --pos_;
    return Error(absl::StrCat("unsupported statement '", keyword, "'"));
  }

  // name, or names separated by commas, optionally in parentheses.
  absl::StatusOr<std::vector<std::string>> Targets() {
    std::vector<std::string> names;
    const bool paren = IsOp("(");
    if (paren) ++pos_;
    do {
      if (!names.empty()) ++pos_;
      ASSIGN_OR_RETURN(std::string name, ExpectName());
      names.push_back(name);
    } while (IsOp(","));
    if (paren) RETURN_IF_ERROR(ExpectOp(")"));
    return names;
  }

  // An expression, or a tuple of them when commas follow (`{{ a, b }}`, `set x = 1, 2`).
  absl::StatusOr<ExprPtr> Tuple(bool with_condexpr) {
    auto one = [&]() { return with_condexpr ? Expression() : Or(); };
    ASSIGN_OR_RETURN(ExprPtr first, one());
    if (!IsOp(",")) return first;
    ExprPtr tuple = Make(Expr::Type::kTuple);
    tuple->children.push_back(std::move(first));
    while (IsOp(",")) {
      ++pos_;
      if (Peek().type == TokenType::kBlockEnd || Peek().type == TokenType::kVarEnd || IsOp(")") ||
          IsName("in")) {
        break;
      }
      ASSIGN_OR_RETURN(ExprPtr item, one());
      tuple->children.push_back(std::move(item));
    }
    return tuple;
  }

  absl::StatusOr<ExprPtr> Expression() {
    ASSIGN_OR_RETURN(ExprPtr value, Or());
    while (IsName("if")) {
      ++pos_;
      ExprPtr cond = Make(Expr::Type::kCond);
      ASSIGN_OR_RETURN(ExprPtr test, Or());
      ExprPtr otherwise;
      if (IsName("else")) {
        ++pos_;
        ASSIGN_OR_RETURN(otherwise, Expression());
      }
      cond->children.push_back(std::move(value));
      cond->children.push_back(std::move(test));
      cond->children.push_back(std::move(otherwise));
      value = std::move(cond);
    }
    return value;
  }

  ExprPtr Binary(std::string op, ExprPtr left, ExprPtr right) {
    ExprPtr e = Make(Expr::Type::kBinary);
    e->name = std::move(op);
    e->children.push_back(std::move(left));
    e->children.push_back(std::move(right));
    return e;
  }

  // `sub (keyword sub)*`, left-associative: the 'or' and 'and' levels.
  template <typename Sub>
  absl::StatusOr<ExprPtr> KeywordLevel(const char* keyword, Sub sub) {
    ASSIGN_OR_RETURN(ExprPtr left, sub());
    while (IsName(keyword)) {
      ++pos_;
      ASSIGN_OR_RETURN(ExprPtr right, sub());
      left = Binary(keyword, std::move(left), std::move(right));
    }
    return left;
  }
  absl::StatusOr<ExprPtr> Or() {
    return KeywordLevel("or", [&] { return And(); });
  }
  absl::StatusOr<ExprPtr> And() {
    return KeywordLevel("and", [&] { return Not(); });
  }

  absl::StatusOr<ExprPtr> Not() {
    if (IsName("not")) {
      ExprPtr e = Make(Expr::Type::kNot);
      ++pos_;
      ASSIGN_OR_RETURN(ExprPtr operand, Not());
      e->children.push_back(std::move(operand));
      return e;
    }
    return Compare();
  }

  absl::StatusOr<ExprPtr> Compare() {
    ASSIGN_OR_RETURN(ExprPtr first, Math1());
    ExprPtr cmp;
    while (true) {
      std::string op;
      if (Peek().type == TokenType::kOperator &&
          (Peek().value == "==" || Peek().value == "!=" || Peek().value == "<" ||
           Peek().value == "<=" || Peek().value == ">" || Peek().value == ">=")) {
        op = Next().value;
      } else if (IsName("in")) {
        ++pos_;
        op = "in";
      } else if (IsName("not") && IsName("in", 1)) {
        pos_ += 2;
        op = "not in";
      } else {
        break;
      }
      if (!cmp) {
        cmp = Make(Expr::Type::kCompare);
        cmp->children.push_back(std::move(first));
      }
      ASSIGN_OR_RETURN(ExprPtr next, Math1());
      cmp->ops.push_back(op);
      cmp->children.push_back(std::move(next));
    }
    return cmp ? std::move(cmp) : std::move(first);
  }

  // One precedence level of left-associative binary operators.
  template <typename Sub>
  absl::StatusOr<ExprPtr> Level(std::initializer_list<std::string_view> ops, Sub sub) {
    ASSIGN_OR_RETURN(ExprPtr left, sub());
    while (Peek().type == TokenType::kOperator &&
           std::find(ops.begin(), ops.end(), Peek().value) != ops.end()) {
      std::string op = Next().value;
      ASSIGN_OR_RETURN(ExprPtr right, sub());
      left = Binary(op, std::move(left), std::move(right));
    }
    return left;
  }
  absl::StatusOr<ExprPtr> Math1() {
    return Level({"+", "-"}, [&] { return Concat(); });
  }
  absl::StatusOr<ExprPtr> Concat() {
    return Level({"~"}, [&] { return Math2(); });
  }
  absl::StatusOr<ExprPtr> Math2() {
    return Level({"*", "/", "//", "%"}, [&] { return Pow(); });
  }
  absl::StatusOr<ExprPtr> Pow() {
    return Level({"**"}, [&] { return Unary(true); });
  }

  absl::StatusOr<ExprPtr> Unary(bool with_filter) {
    ExprPtr node;
    if (IsOp("-") || IsOp("+")) {
      node = Make(IsOp("-") ? Expr::Type::kNeg : Expr::Type::kPos);
      ++pos_;
      ASSIGN_OR_RETURN(ExprPtr operand, Unary(false));
      node->children.push_back(std::move(operand));
    } else {
      ASSIGN_OR_RETURN(node, Primary());
    }
    ASSIGN_OR_RETURN(node, Postfix(std::move(node)));
    if (with_filter) {
      ASSIGN_OR_RETURN(node, FilterExpr(std::move(node)));
    }
    return node;
  }

  absl::StatusOr<ExprPtr> Primary() {
    const Token& t = Peek();
    switch (t.type) {
      case TokenType::kName: {
        ++pos_;
        ExprPtr e = Make(Expr::Type::kLiteral);
        if (t.value == "true" || t.value == "True") {
          e->literal = Value::Bool(true);
        } else if (t.value == "false" || t.value == "False") {
          e->literal = Value::Bool(false);
        } else if (t.value == "none" || t.value == "None") {
          e->literal = Value::None();
        } else {
          e->type = Expr::Type::kName;
          e->name = t.value;
        }
        return e;
      }
      case TokenType::kString: {
        ExprPtr e = Make(Expr::Type::kLiteral);
        std::string s;
        while (Peek().type == TokenType::kString) s += Next().value;  // 'a' 'b' is 'ab'
        e->literal = Value::String(std::move(s));
        return e;
      }
      case TokenType::kInteger:
      case TokenType::kFloat: {
        ExprPtr e = Make(Expr::Type::kLiteral);
        ++pos_;
        if (t.type == TokenType::kFloat) {
          e->literal = Value::Float(std::stod(t.value));
        } else {
          try {
            e->literal = Value::Int(std::stoll(t.value));
          } catch (const std::exception&) {
            return Error("integer literal out of range");
          }
        }
        return e;
      }
      case TokenType::kOperator:
        if (t.value == "(") {
          ++pos_;
          if (IsOp(")")) {
            ++pos_;
            return Make(Expr::Type::kTuple);
          }
          ASSIGN_OR_RETURN(ExprPtr inner, Expression());
          if (IsOp(",")) {
            ExprPtr tuple = Make(Expr::Type::kTuple);
            tuple->children.push_back(std::move(inner));
            while (IsOp(",")) {
              ++pos_;
              if (IsOp(")")) break;
              ASSIGN_OR_RETURN(ExprPtr item, Expression());
              tuple->children.push_back(std::move(item));
            }
            inner = std::move(tuple);
          }
          RETURN_IF_ERROR(ExpectOp(")"));
          return inner;
        }
        if (t.value == "[" || t.value == "{") {
          const bool dict = t.value == "{";
          const std::string close = dict ? "}" : "]";
          ExprPtr e = Make(dict ? Expr::Type::kDict : Expr::Type::kList);
          ++pos_;
          while (!IsOp(close)) {
            if (!e->children.empty()) {
              RETURN_IF_ERROR(ExpectOp(","));
              if (IsOp(close)) break;
            }
            ASSIGN_OR_RETURN(ExprPtr item, Expression());
            e->children.push_back(std::move(item));
            if (dict) {
              RETURN_IF_ERROR(ExpectOp(":"));
              ASSIGN_OR_RETURN(ExprPtr value, Expression());
              e->children.push_back(std::move(value));
            }
          }
          ++pos_;
          return e;
        }
        break;
      default:
        break;
    }
    return Error("expected an expression");
  }

  absl::StatusOr<ExprPtr> Postfix(ExprPtr node) {
    while (true) {
      if (IsOp(".")) {
        ++pos_;
        if (Peek().type == TokenType::kInteger) {  // x.0 is x[0]
          ExprPtr item = Make(Expr::Type::kItem);
          ExprPtr index = Make(Expr::Type::kLiteral);
          index->literal = Value::Int(std::stoll(Next().value));
          item->children.push_back(std::move(node));
          item->children.push_back(std::move(index));
          node = std::move(item);
          continue;
        }
        ExprPtr attr = Make(Expr::Type::kAttr);
        ASSIGN_OR_RETURN(attr->name, ExpectName());
        attr->children.push_back(std::move(node));
        node = std::move(attr);
      } else if (IsOp("[")) {
        ++pos_;
        ASSIGN_OR_RETURN(node, Subscript(std::move(node)));
      } else if (IsOp("(")) {
        ASSIGN_OR_RETURN(node, Call(std::move(node)));
      } else {
        return node;
      }
    }
  }

  absl::StatusOr<ExprPtr> Call(ExprPtr callee) {
    ExprPtr call = Make(Expr::Type::kCall);
    call->children.push_back(std::move(callee));
    RETURN_IF_ERROR(CallArgs(call.get()));
    return call;
  }

  absl::StatusOr<ExprPtr> Subscript(ExprPtr node) {
    ExprPtr parts[3];
    int colons = 0;
    while (!IsOp("]")) {
      if (IsOp(":")) {
        if (++colons > 2) return Error("too many ':' in a slice");
        ++pos_;
        continue;
      }
      ASSIGN_OR_RETURN(parts[colons], Expression());
      if (!IsOp(":") && !IsOp("]")) return Error("expected ']'");
    }
    ++pos_;
    if (colons == 0) {
      if (!parts[0]) return Error("empty subscript");
      ExprPtr item = Make(Expr::Type::kItem);
      item->children.push_back(std::move(node));
      item->children.push_back(std::move(parts[0]));
      return item;
    }
    ExprPtr slice = Make(Expr::Type::kSlice);
    slice->children.push_back(std::move(node));
    for (auto& p : parts) slice->children.push_back(std::move(p));
    return slice;
  }

  // (a, b, name=c): positional arguments first, then keywords.
  absl::Status CallArgs(Expr* call) {
    RETURN_IF_ERROR(ExpectOp("("));
    call->first_arg = call->children.size();
    bool first = true;
    while (!IsOp(")")) {
      if (!first) {
        RETURN_IF_ERROR(ExpectOp(","));
        if (IsOp(")")) break;
      }
      first = false;
      if (Peek().type == TokenType::kName && IsOp("=", 1)) {
        call->keywords.push_back(Next().value);
        ++pos_;
      } else if (!call->keywords.empty()) {
        return Error("positional argument after keyword argument");
      }
      ASSIGN_OR_RETURN(ExprPtr arg, Expression());
      call->children.push_back(std::move(arg));
    }
    ++pos_;
    return absl::OkStatus();
  }

  absl::StatusOr<ExprPtr> FilterExpr(ExprPtr node) {
    while (true) {
      if (IsOp("|")) {
        ASSIGN_OR_RETURN(node, FilterChain(std::move(node), false, /*one=*/true));
      } else if (IsName("is")) {
        ++pos_;
        ExprPtr test = Make(Expr::Type::kTest);
        if (IsName("not")) {
          ++pos_;
          test->negated = true;
        }
        ASSIGN_OR_RETURN(test->name, ExpectName());
        while (IsOp(".")) {
          ++pos_;
          ASSIGN_OR_RETURN(std::string part, ExpectName());
          test->name += "." + part;
        }
        test->children.push_back(std::move(node));
        if (IsOp("(")) {
          RETURN_IF_ERROR(CallArgs(test.get()));
        } else if ((Peek().type == TokenType::kName || Peek().type == TokenType::kString ||
                    Peek().type == TokenType::kInteger || Peek().type == TokenType::kFloat ||
                    IsOp("[") || IsOp("{")) &&
                   !IsName("else") && !IsName("or") && !IsName("and")) {
          // `is divisibleby 3`, `is sameas false`: one argument without parentheses.
          if (IsName("is")) return Error("tests cannot be chained with 'is'");
          ASSIGN_OR_RETURN(ExprPtr arg, Primary());
          ASSIGN_OR_RETURN(arg, Postfix(std::move(arg)));
          test->first_arg = 1;
          test->children.push_back(std::move(arg));
        }
        node = std::move(test);
      } else if (IsOp("(")) {
        ASSIGN_OR_RETURN(node, Call(std::move(node)));
      } else {
        return node;
      }
    }
  }

  // | name(args) | name ...; `input` may be null (filter blocks and set blocks apply the chain
  // to their rendered body). With first_without_pipe the first name has no '|' before it.
  absl::StatusOr<ExprPtr> FilterChain(ExprPtr input, bool first_without_pipe = false,
                                      bool one = false) {
    bool first = true;
    while (IsOp("|") || (first && first_without_pipe)) {
      if (!(first && first_without_pipe)) ++pos_;
      if (first && first_without_pipe) ++pos_;  // the 'filter' keyword
      first = false;
      ExprPtr filter = Make(Expr::Type::kFilter);
      ASSIGN_OR_RETURN(filter->name, ExpectName());
      while (IsOp(".")) {
        ++pos_;
        ASSIGN_OR_RETURN(std::string part, ExpectName());
        filter->name += "." + part;
      }
      filter->children.push_back(std::move(input));
      if (IsOp("(")) RETURN_IF_ERROR(CallArgs(filter.get()));
      input = std::move(filter);
      if (one) break;
    }
    return input;
  }

  const std::vector<Token>& t_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<Body> Parse(const std::vector<Token>& tokens) { return Parser(tokens).Template(); }

}  // namespace flywheel::tokenizer::jinja
