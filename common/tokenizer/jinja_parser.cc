// Statements: the template body, block tags and their arguments.
#include "common/tokenizer/jinja_parser.h"

#include "common/tokenizer/jinja_parser_internal.h"

namespace flywheel::tokenizer::jinja {

// Statements until a block tag named in `ends` (left unconsumed, after its '{%').
absl::StatusOr<Body> Parser::ParseBody(std::initializer_list<std::string_view> ends) {
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
absl::Status Parser::BlockTo(const char* end, Body* body) {
  RETURN_IF_ERROR(EndTag());
  ASSIGN_OR_RETURN(*body, ParseBody({end}));
  ++pos_;
  if (Peek().type == TokenType::kName) ++pos_;  // {% endmacro name %}
  return EndTag();
}

absl::StatusOr<std::unique_ptr<Stmt>> Parser::Statement(const std::string& keyword, int line) {
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
absl::StatusOr<std::vector<std::string>> Parser::Targets() {
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

absl::StatusOr<Body> Parse(const std::vector<Token>& tokens) { return Parser(tokens).Template(); }

}  // namespace flywheel::tokenizer::jinja
