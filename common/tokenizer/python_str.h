// Python's str semantics on UTF-8 text, for the chat-template renderer: templates call str
// methods (strip, split, startswith, ...) and print values the way Python's str() and repr() and
// json.dumps do, and the rendered text must match transformers character for character. Strings
// are valid UTF-8 (checked at the renderer's boundary); lengths and indices count code points.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flywheel::tokenizer::py {

// str.isspace() for one code point: Unicode White_Space plus the separators 0x1C-0x1F.
bool IsSpace(char32_t cp);

std::u32string ToU32(std::string_view utf8);
std::string FromU32(std::u32string_view text);
size_t Length(std::string_view utf8);  // code points

// str.strip / lstrip / rstrip: `chars` (code points to remove) or whitespace when absent.
std::string Strip(std::string_view s, const std::optional<std::string>& chars, bool left,
                  bool right);

// str.split / rsplit: at `sep` (non-empty), or at whitespace runs when absent (then empty parts
// are dropped); at most `maxsplit` cuts when it is >= 0.
std::vector<std::string> Split(std::string_view s, const std::optional<std::string>& sep,
                               int64_t maxsplit, bool from_right);

// str.lower / upper / title / capitalize with Unicode's simple case mappings (title case for
// the first letters), plus upper-casing sharp s and the Latin ligatures to two or three letters
// as Python does.
std::string Lower(std::string_view s);
std::string Upper(std::string_view s);
std::string Title(std::string_view s);
std::string Capitalize(std::string_view s);

// repr() of a str: single quotes unless the text has ' and no ", escapes for the quote,
// backslash, \n \r \t and for code points Python does not print (\xNN, \uNNNN, \UNNNNNNNN).
std::string Repr(std::string_view s);

// repr() (and str()) of a float: the shortest digits that round-trip, fixed notation for
// exponents in [-4, 16) and 'e+NN' otherwise, '.0' on integral values; inf, -inf, nan.
std::string FloatRepr(double v);

// int() of a float, truncating toward zero; nullopt for inf, nan and values past int64 (Python
// raises there; a C++ cast would be undefined behaviour).
std::optional<int64_t> FloatToInt(double v);

// json.dumps of a str with ensure_ascii=False: only ", \ and control characters are escaped.
void AppendJsonString(std::string_view s, std::string* out);

}  // namespace flywheel::tokenizer::py
