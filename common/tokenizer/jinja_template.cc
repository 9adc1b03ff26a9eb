#include "common/tokenizer/jinja_template.h"

#include "common/base/status_macros.h"
#include "common/tokenizer/jinja_builtins.h"
#include "common/tokenizer/jinja_interpreter.h"
#include "common/tokenizer/jinja_parser.h"

namespace flywheel::tokenizer::jinja {

absl::StatusOr<std::unique_ptr<Template>> Template::Parse(std::string_view source,
                                                          const LexerOptions& options) {
  ASSIGN_OR_RETURN(std::vector<Token> tokens, Lex(source, options));
  ASSIGN_OR_RETURN(Body body, jinja::Parse(tokens));
  return std::unique_ptr<Template>(new Template(std::move(body)));
}

absl::StatusOr<std::string> Template::Render(const Dict& variables) const {
  Dict globals = BuiltinGlobals();
  for (const auto& [k, v] : variables.entries) globals.Set(k, v);
  Interpreter interpreter(globals);
  std::string out;
  RETURN_IF_ERROR(interpreter.Render(body_, &out));
  return out;
}

}  // namespace flywheel::tokenizer::jinja
