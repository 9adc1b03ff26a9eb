// The parser of flywheel's Jinja renderer: tokens (jinja_lexer.h) to a syntax tree
// (jinja_ast.h), following Jinja's grammar and operator precedence. Supported statements: if /
// elif / else, for (with else, loop filters, tuple targets), set (plain, tuple, namespace
// attribute, block), macro, filter blocks, with, break / continue (transformers enables the
// loopcontrols extension), raw, and transformers' generation blocks. include / import / extends
// / block need a template loader and are refused, as are call blocks.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "common/tokenizer/jinja_ast.h"
#include "common/tokenizer/jinja_lexer.h"

namespace flywheel::tokenizer::jinja {

// InvalidArgument naming the line for syntax errors and unsupported statements.
absl::StatusOr<Body> Parse(const std::vector<Token>& tokens);

}  // namespace flywheel::tokenizer::jinja
