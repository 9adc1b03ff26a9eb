// UTF-8 helpers shared by the tokenizer: validation, code point iteration, and the lossy
// conversion (one U+FFFD per maximal invalid subpart, as Rust's String::from_utf8_lossy does)
// that Decode and the incremental decoder share so that streaming and batch output agree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace flywheel::tokenizer {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Debian's Abseil is built with its own string_view type; this bridges std::string_view into
// absl::StrCat and absl's heterogeneous hash-map lookups.
inline absl::string_view AbslView(std::string_view s) { return {s.data(), s.size()}; }

// OK if `text` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF);
// otherwise InvalidArgument naming the byte offset of the first bad sequence.
absl::Status ValidateUtf8(std::string_view text);

// Decodes the code point starting at text[*pos] and advances *pos past it. `text` must be valid
// UTF-8 (checked by ValidateUtf8 first); behaviour on invalid input is a broken invariant.
char32_t NextCodePoint(std::string_view text, size_t* pos);

// Appends the UTF-8 encoding of `cp` (which must be a valid scalar value).
void AppendUtf8(char32_t cp, std::string* out);

// Converts `bytes` to valid UTF-8 by appending it to *out with every maximal invalid subpart
// replaced by U+FFFD. When `final` is false, a trailing sequence that is incomplete but could
// still become valid is left unconsumed. Returns how many bytes of `bytes` were consumed.
size_t AppendUtf8Lossy(std::string_view bytes, bool final, std::string* out);

// Unicode White_Space (the set Oniguruma's \s matches, which Hugging Face's regexes use).
bool IsUnicodeWhitespace(char32_t cp);

}  // namespace flywheel::tokenizer
