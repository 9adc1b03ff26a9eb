// UTF-8 validation and lossy conversion, written against the Unicode standard's table 3-7
// (well-formed byte sequences) so both agree on what a "maximal subpart" is.
#include "common/tokenizer/utf8.h"

#include "absl/strings/str_cat.h"

namespace flywheel::tokenizer {
namespace {

// Length of the well-formed prefix of a sequence starting at bytes[0], and whether the sequence
// is complete. Table 3-7: the second byte's range depends on the lead byte (this is what rules
// out overlongs, surrogates and values past U+10FFFF).
struct SeqCheck {
  size_t valid_len;  // bytes that form a valid (possibly incomplete) prefix; 0 if lead is bad
  size_t need;       // total length the lead byte announces
};

SeqCheck CheckSequence(const unsigned char* p, size_t avail) {
  unsigned char b0 = p[0];
  if (b0 < 0x80) return {1, 1};
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return {0, 1};
  }
  size_t n = 1;
  while (n < need && n < avail) {
    unsigned char b = p[n];
    if (n == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) break;
    ++n;
  }
  return {n, need};
}

}  // namespace

absl::Status ValidateUtf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  size_t n = text.size(), i = 0;
  while (i < n) {
    // ASCII runs dominate real text; skip them eight bytes at a time.
    while (i + 8 <= n) {
      uint64_t w;
      __builtin_memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    SeqCheck c = CheckSequence(p + i, n - i);
    if (c.valid_len != c.need) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid UTF-8 at byte offset ", i, " (byte 0x", absl::Hex(p[i], absl::kZeroPad2), ")"));
    }
    i += c.need;
  }
  return absl::OkStatus();
}

char32_t NextCodePoint(std::string_view text, size_t* pos) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data()) + *pos;
  unsigned char b0 = p[0];
  if (b0 < 0x80) {
    *pos += 1;
    return b0;
  }
  if (b0 < 0xE0) {
    *pos += 2;
    return (char32_t(b0 & 0x1F) << 6) | (p[1] & 0x3F);
  }
  if (b0 < 0xF0) {
    *pos += 3;
    return (char32_t(b0 & 0x0F) << 12) | (char32_t(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
  }
  *pos += 4;
  return (char32_t(b0 & 0x07) << 18) | (char32_t(p[1] & 0x3F) << 12) |
         (char32_t(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

size_t AppendUtf8Lossy(std::string_view bytes, bool final, std::string* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t n = bytes.size(), i = 0, run_start = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    SeqCheck c = CheckSequence(p + i, n - i);
    if (c.valid_len == c.need) {
      i += c.need;
      continue;
    }
    bool truncated_at_end = c.valid_len > 0 && i + c.valid_len == n;
    if (truncated_at_end && !final) break;  // may still complete with the next bytes
    out->append(bytes.data() + run_start, i - run_start);
    AppendUtf8(kReplacementChar, out);
    i += c.valid_len > 0 ? c.valid_len : 1;
    run_start = i;
  }
  out->append(bytes.data() + run_start, i - run_start);
  return i;
}

bool IsUnicodeWhitespace(char32_t cp) {
  switch (cp) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x20:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

}  // namespace flywheel::tokenizer
