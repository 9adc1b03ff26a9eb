#include "reward/input_guard.h"

#include "reward/text_util.h"

namespace flywheel::reward {

absl::Status ValidateUtf8(std::string_view text, std::string_view what) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    unsigned cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return absl::InvalidArgumentError(
          Cat(what, " is not valid UTF-8: bad lead byte at offset ", i));
    }
    if (i + len > n) {
      return absl::InvalidArgumentError(
          Cat(what, " is not valid UTF-8: truncated sequence at offset ", i));
    }
    for (int k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) {
        return absl::InvalidArgumentError(
            Cat(what, " is not valid UTF-8: bad continuation byte at offset ", i + k));
      }
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    static constexpr unsigned kMinForLen[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLen[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return absl::InvalidArgumentError(
          Cat(what,
              " is not valid UTF-8: overlong, surrogate or out-of-range code point at offset ", i));
    }
    i += len;
  }
  return absl::OkStatus();
}

absl::Status CheckBraceDepth(std::string_view text, int max_depth, std::string_view what) {
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\') {
      ++i;  // skip the escaped character: '\{' and '\}' are literal braces
      continue;
    }
    if (c == '{') {
      if (++depth > max_depth) {
        return absl::InvalidArgumentError(
            Cat(what, " nests braces deeper than ", max_depth, " (at offset ", i, ")"));
      }
    } else if (c == '}' && depth > 0) {
      --depth;
    }
  }
  return absl::OkStatus();
}

absl::Status CheckText(std::string_view text, size_t max_bytes, const InputLimits& limits,
                       std::string_view what) {
  if (text.size() > max_bytes) {
    return absl::InvalidArgumentError(
        Cat(what, " is ", text.size(), " bytes, over the limit of ", max_bytes));
  }
  if (auto s = ValidateUtf8(text, what); !s.ok()) return s;
  return CheckBraceDepth(text, limits.max_brace_depth, what);
}

}  // namespace flywheel::reward
