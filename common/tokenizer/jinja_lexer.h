// The lexer of flywheel's Jinja renderer: template source to tokens, with Jinja's whitespace
// handling as transformers configures it (trim_blocks, lstrip_blocks, '-' and '+' modifiers,
// newlines normalized to '\n', one trailing newline dropped).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace flywheel::tokenizer::jinja {

enum class TokenType {
  kData,        // template text between tags
  kVarBegin,    // {{
  kVarEnd,      // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,        // identifiers and keywords
  kString,      // string literal, escapes resolved
  kInteger,
  kFloat,
  kOperator,  // + - * / // % ** ~ == != < <= > >= = . , : | ( ) [ ] { }
  kEnd,       // end of the template
};

struct Token {
  TokenType type;
  std::string value;
  int line = 1;
};

struct LexerOptions {
  bool trim_blocks = true;    // drop the newline after a block tag
  bool lstrip_blocks = true;  // drop spaces and tabs before a block tag that starts a line
};

// InvalidArgument (with the line) for unterminated tags, comments or strings, and for
// characters no token starts with.
absl::StatusOr<std::vector<Token>> Lex(std::string_view source, const LexerOptions& options);

}  // namespace flywheel::tokenizer::jinja
