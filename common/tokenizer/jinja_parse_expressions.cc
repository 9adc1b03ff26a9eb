// Expressions by recursive descent, lowest precedence first: conditional, or, and, not,
// comparisons (in, not in), + -, ~, * / // %, **, unary - +, then primaries with their postfix
// attribute, item, call, filter and test operations.
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "common/tokenizer/jinja_parser_internal.h"

namespace flywheel::tokenizer::jinja {

// An expression, or a tuple of them when commas follow (`{{ a, b }}`, `set x = 1, 2`).
absl::StatusOr<ExprPtr> Parser::Tuple(bool with_condexpr) {
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

absl::StatusOr<ExprPtr> Parser::Expression() {
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

ExprPtr Parser::Binary(std::string op, ExprPtr left, ExprPtr right) {
  ExprPtr e = Make(Expr::Type::kBinary);
  e->name = std::move(op);
  e->children.push_back(std::move(left));
  e->children.push_back(std::move(right));
  return e;
}

// `sub (keyword sub)*`, left-associative: the 'or' and 'and' levels.
template <typename Sub>
absl::StatusOr<ExprPtr> Parser::KeywordLevel(const char* keyword, Sub sub) {
  ASSIGN_OR_RETURN(ExprPtr left, sub());
  while (IsName(keyword)) {
    ++pos_;
    ASSIGN_OR_RETURN(ExprPtr right, sub());
    left = Binary(keyword, std::move(left), std::move(right));
  }
  return left;
}

absl::StatusOr<ExprPtr> Parser::Or() {
  return KeywordLevel("or", [&] { return And(); });
}

absl::StatusOr<ExprPtr> Parser::And() {
  return KeywordLevel("and", [&] { return Not(); });
}

absl::StatusOr<ExprPtr> Parser::Not() {
  if (IsName("not")) {
    ExprPtr e = Make(Expr::Type::kNot);
    ++pos_;
    ASSIGN_OR_RETURN(ExprPtr operand, Not());
    e->children.push_back(std::move(operand));
    return e;
  }
  return Compare();
}

absl::StatusOr<ExprPtr> Parser::Compare() {
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
absl::StatusOr<ExprPtr> Parser::Level(std::initializer_list<std::string_view> ops, Sub sub) {
  ASSIGN_OR_RETURN(ExprPtr left, sub());
  while (Peek().type == TokenType::kOperator &&
         std::find(ops.begin(), ops.end(), Peek().value) != ops.end()) {
    std::string op = Next().value;
    ASSIGN_OR_RETURN(ExprPtr right, sub());
    left = Binary(op, std::move(left), std::move(right));
  }
  return left;
}

absl::StatusOr<ExprPtr> Parser::Math1() {
  return Level({"+", "-"}, [&] { return Concat(); });
}

absl::StatusOr<ExprPtr> Parser::Concat() {
  return Level({"~"}, [&] { return Math2(); });
}

absl::StatusOr<ExprPtr> Parser::Math2() {
  return Level({"*", "/", "//", "%"}, [&] { return Pow(); });
}

absl::StatusOr<ExprPtr> Parser::Pow() {
  return Level({"**"}, [&] { return Unary(true); });
}

absl::StatusOr<ExprPtr> Parser::Unary(bool with_filter) {
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

absl::StatusOr<ExprPtr> Parser::Primary() {
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
        // Like Python, a float literal too large for a double is inf (std::stod would throw).
        e->literal = Value::Float(std::strtod(t.value.c_str(), nullptr));
      } else {
        int64_t v = 0;
        if (!absl::SimpleAtoi(t.value, &v)) return Error("integer literal out of range");
        e->literal = Value::Int(v);
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

absl::StatusOr<ExprPtr> Parser::Postfix(ExprPtr node) {
  while (true) {
    if (IsOp(".")) {
      ++pos_;
      if (Peek().type == TokenType::kInteger) {  // x.0 is x[0]
        ExprPtr item = Make(Expr::Type::kItem);
        ExprPtr index = Make(Expr::Type::kLiteral);
        int64_t i = 0;
        if (!absl::SimpleAtoi(Next().value, &i)) return Error("integer index out of range");
        index->literal = Value::Int(i);
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

absl::StatusOr<ExprPtr> Parser::Call(ExprPtr callee) {
  ExprPtr call = Make(Expr::Type::kCall);
  call->children.push_back(std::move(callee));
  RETURN_IF_ERROR(CallArgs(call.get()));
  return call;
}

absl::StatusOr<ExprPtr> Parser::Subscript(ExprPtr node) {
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
absl::Status Parser::CallArgs(Expr* call) {
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

absl::StatusOr<ExprPtr> Parser::FilterExpr(ExprPtr node) {
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
absl::StatusOr<ExprPtr> Parser::FilterChain(ExprPtr input, bool first_without_pipe, bool one) {
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

}  // namespace flywheel::tokenizer::jinja
