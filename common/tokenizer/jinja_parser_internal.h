// The parser of flywheel's Jinja renderer, shared by its two source files: statements
// (jinja_parser.cc) and expressions (jinja_parse_expressions.cc), following Jinja's grammar
// (jinja2/parser.py). Internal to common/tokenizer.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/tokenizer/jinja_ast.h"
#include "common/tokenizer/jinja_lexer.h"

namespace flywheel::tokenizer::jinja {

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
  absl::StatusOr<Body> ParseBody(std::initializer_list<std::string_view> ends);
  // After a statement's arguments: '%}', the body up to {% end %}, and that closing tag.
  absl::Status BlockTo(const char* end, Body* body);
  absl::StatusOr<std::unique_ptr<Stmt>> Statement(const std::string& keyword, int line);
  // name, or names separated by commas, optionally in parentheses.
  absl::StatusOr<std::vector<std::string>> Targets();

  // An expression, or a tuple of them when commas follow (`{{ a, b }}`, `set x = 1, 2`).
  absl::StatusOr<ExprPtr> Tuple(bool with_condexpr);
  absl::StatusOr<ExprPtr> Expression();
  ExprPtr Binary(std::string op, ExprPtr left, ExprPtr right);
  // `sub (keyword sub)*`, left-associative: the 'or' and 'and' levels.
  template <typename Sub>
  absl::StatusOr<ExprPtr> KeywordLevel(const char* keyword, Sub sub);
  absl::StatusOr<ExprPtr> Or();
  absl::StatusOr<ExprPtr> And();
  absl::StatusOr<ExprPtr> Not();
  absl::StatusOr<ExprPtr> Compare();
  // One precedence level of left-associative binary operators.
  template <typename Sub>
  absl::StatusOr<ExprPtr> Level(std::initializer_list<std::string_view> ops, Sub sub);
  absl::StatusOr<ExprPtr> Math1();
  absl::StatusOr<ExprPtr> Concat();
  absl::StatusOr<ExprPtr> Math2();
  absl::StatusOr<ExprPtr> Pow();
  absl::StatusOr<ExprPtr> Unary(bool with_filter);
  absl::StatusOr<ExprPtr> Primary();
  absl::StatusOr<ExprPtr> Postfix(ExprPtr node);
  absl::StatusOr<ExprPtr> Call(ExprPtr callee);
  absl::StatusOr<ExprPtr> Subscript(ExprPtr node);
  // (a, b, name=c): positional arguments first, then keywords.
  absl::Status CallArgs(Expr* call);
  absl::StatusOr<ExprPtr> FilterExpr(ExprPtr node);
  // | name(args) | name ...; `input` may be null (filter blocks and set blocks apply the chain
  // to their rendered body). With first_without_pipe the first name has no '|' before it.
  absl::StatusOr<ExprPtr> FilterChain(ExprPtr input, bool first_without_pipe = false,
                                      bool one = false);

  const std::vector<Token>& t_;
  size_t pos_ = 0;
};

}  // namespace flywheel::tokenizer::jinja
