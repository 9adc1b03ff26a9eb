// flywheel's Jinja renderer for chat templates: a small engine (Debian packages no C++ Jinja)
// covering the subset real checkpoints' chat_template strings use, checked character for
// character against Python's jinja2 under transformers' settings (tests/tokenizer). Supported:
// {{ }}, {% %} and {# #} with '-' / '+' whitespace control, trim_blocks and lstrip_blocks; if,
// for (loop variables, loop filters, else, break / continue), set (also namespace attributes
// and blocks), macro, filter and with blocks, raw; Python-style expressions with Jinja's
// precedence; the filters, tests, str / dict methods and globals listed in jinja_builtins.h.
//
// Thread safety: a parsed template is immutable; any thread may call Render.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/tokenizer/jinja_ast.h"
#include "common/tokenizer/jinja_lexer.h"
#include "common/tokenizer/jinja_value.h"

namespace flywheel::tokenizer::jinja {

class Template {
 public:
  // InvalidArgument (naming the line) for syntax errors and unsupported statements.
  static absl::StatusOr<std::unique_ptr<Template>> Parse(std::string_view source,
                                                         const LexerOptions& options = {});

  // Renders with `variables` on top of the built-in globals. InvalidArgument for errors the
  // template meets (undefined values used, type errors, raise_exception("...") whose message is
  // kept after "raise_exception: ").
  absl::StatusOr<std::string> Render(const Dict& variables) const;

 private:
  explicit Template(Body body) : body_(std::move(body)) {}
  Body body_;
};

}  // namespace flywheel::tokenizer::jinja
