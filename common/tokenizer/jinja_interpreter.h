// The interpreter of flywheel's Jinja renderer: walks the syntax tree (jinja_ast.h) and writes
// the output. Scoping follows Jinja: `set` writes to the innermost scope; each for-loop
// iteration and each macro call gets a fresh scope (so values set inside a loop do not survive
// it, which is why templates use namespace()); if-blocks share their enclosing scope.
//
// Thread safety: one Interpreter per render; not shared.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tokenizer/jinja_ast.h"

namespace flywheel::tokenizer::jinja {

class Interpreter {
 public:
  // `globals` are the names every scope sees (builtins and the render's variables).
  explicit Interpreter(const Dict& globals);
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  // Appends the rendering of `body` to *out. The first error stops the render.
  absl::Status Render(const Body& body, std::string* out);

  absl::StatusOr<Value> Call(const Value& callee, Args& args);

 private:
  using Scope = std::unordered_map<std::string, Value>;
  enum class Flow { kNormal, kBreak, kContinue };

  absl::Status Exec(const Body& body, std::string* out);
  absl::Status ExecStmt(const Stmt& s, std::string* out);
  absl::Status ExecFor(const Stmt& s, std::string* out);
  absl::Status Assign(const std::vector<std::string>& targets, const Value& value, int line);
  absl::StatusOr<Value> Eval(const Expr& e);
  absl::StatusOr<Value> EvalBinary(const Expr& e);
  absl::StatusOr<bool> EvalCompare(const std::string& op, const Value& a, const Value& b);
  absl::StatusOr<Args> EvalArgs(const Expr& e);
  absl::StatusOr<Value> ApplyFilterExpr(const Expr& e, const Value& input);
  Value Lookup(const std::string& name) const;
  Value MakeMacro(const Stmt& s);

  std::vector<Scope> scopes_;  // scopes_[0] holds the globals and top-level sets
  Flow flow_ = Flow::kNormal;
  int depth_ = 0;  // macro recursion guard
};

// Python's binary operators on values: + - * / // % ** (and % string formatting).
absl::StatusOr<Value> Arithmetic(const std::string& op, const Value& a, const Value& b);

}  // namespace flywheel::tokenizer::jinja
