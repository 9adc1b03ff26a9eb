// Python str semantics on UTF-8 (see python_str.h).
#include "common/tokenizer/python_str.h"

#include <utf8proc.h>

#include <charconv>
#include <cmath>
#include <cstdio>

#include "common/tokenizer/utf8.h"

namespace flywheel::tokenizer::py {
namespace {

bool InSet(char32_t cp, const std::optional<std::u32string>& set) {
  return set ? set->find(cp) != std::u32string::npos : IsSpace(cp);
}

// Code points Python's str.isprintable() rejects: other (Cc Cf Cs Co Cn) and separators
// (Zl Zp Zs) except the ASCII space.
bool Printable(char32_t cp) {
  if (cp == ' ') return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_ZS:
      return false;
    default:
      return true;
  }
}

bool IsCased(char32_t cp) {
  return utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)) != static_cast<utf8proc_int32_t>(cp) ||
         utf8proc_toupper(static_cast<utf8proc_int32_t>(cp)) != static_cast<utf8proc_int32_t>(cp);
}

template <typename F>
std::string MapCodePoints(std::string_view s, F f) {
  std::string out;
  out.reserve(s.size());
  for (size_t pos = 0; pos < s.size();) AppendUtf8(f(NextCodePoint(s, &pos)), &out);
  return out;
}

char32_t ToLower(char32_t cp) {
  return static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)));
}
char32_t ToUpper(char32_t cp) {
  return static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(cp)));
}

char32_t ToTitle(char32_t cp) {
  return static_cast<char32_t>(utf8proc_totitle(static_cast<utf8proc_int32_t>(cp)));
}

// The upper-case mappings of Unicode's SpecialCasing.txt that Python applies and utf8proc's
// one-to-one tables lack, for the Latin letters text actually contains: sharp s and the ff-st
// ligatures. (Greek iota-subscript forms and rarer ones keep their simple mapping.)
const char* SpecialUpper(char32_t cp) {
  switch (cp) {
    case 0x00DF:
      return "SS";
    case 0xFB00:
      return "FF";
    case 0xFB01:
      return "FI";
    case 0xFB02:
      return "FL";
    case 0xFB03:
      return "FFI";
    case 0xFB04:
      return "FFL";
    case 0xFB05:
    case 0xFB06:
      return "ST";
    default:
      return nullptr;
  }
}

}  // namespace

bool IsSpace(char32_t cp) { return IsUnicodeWhitespace(cp) || (cp >= 0x1C && cp <= 0x1F); }

std::u32string ToU32(std::string_view utf8) {
  std::u32string out;
  out.reserve(utf8.size());
  for (size_t pos = 0; pos < utf8.size();) out.push_back(NextCodePoint(utf8, &pos));
  return out;
}

std::string FromU32(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text) AppendUtf8(cp, &out);
  return out;
}

size_t Length(std::string_view utf8) {
  size_t n = 0;
  for (unsigned char c : utf8) n += (c & 0xC0) != 0x80;
  return n;
}

std::string Strip(std::string_view s, const std::optional<std::string>& chars, bool left,
                  bool right) {
  std::optional<std::u32string> set;
  if (chars) set = ToU32(*chars);
  std::u32string u = ToU32(s);
  size_t begin = 0, end = u.size();
  while (left && begin < end && InSet(u[begin], set)) ++begin;
  while (right && end > begin && InSet(u[end - 1], set)) --end;
  return FromU32(std::u32string_view(u).substr(begin, end - begin));
}

std::vector<std::string> Split(std::string_view s, const std::optional<std::string>& sep,
                               int64_t maxsplit, bool from_right) {
  std::vector<std::string> parts;
  if (sep) {
    if (!from_right) {
      size_t start = 0;
      for (size_t at; (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) &&
                      (at = s.find(*sep, start)) != std::string_view::npos;) {
        parts.emplace_back(s.substr(start, at - start));
        start = at + sep->size();
      }
      parts.emplace_back(s.substr(start));
      return parts;
    }
    size_t end = s.size();
    int64_t cuts = 0;
    while (maxsplit < 0 || cuts < maxsplit) {
      if (end < sep->size()) break;
      size_t at = s.rfind(*sep, end - sep->size());
      if (at == std::string_view::npos) break;
      parts.emplace_back(s.substr(at + sep->size(), end - at - sep->size()));
      end = at;
      ++cuts;
    }
    parts.emplace_back(s.substr(0, end));
    return {parts.rbegin(), parts.rend()};
  }
  // Whitespace runs: empty parts vanish; the rest after the last cut loses the whitespace next
  // to the cut and keeps the rest.
  std::u32string u = ToU32(s);
  if (from_right) std::reverse(u.begin(), u.end());
  size_t i = 0;
  int64_t cuts = 0;
  while (true) {
    while (i < u.size() && IsSpace(u[i])) ++i;
    if (i == u.size()) break;
    if (maxsplit >= 0 && cuts == maxsplit) {
      std::u32string rest = u.substr(i);  // keeps its whitespace at the far end
      if (from_right) std::reverse(rest.begin(), rest.end());
      parts.push_back(FromU32(rest));
      break;
    }
    size_t j = i;
    while (j < u.size() && !IsSpace(u[j])) ++j;
    std::u32string word = u.substr(i, j - i);
    if (from_right) std::reverse(word.begin(), word.end());
    parts.push_back(FromU32(word));
    ++cuts;
    i = j;
  }
  if (from_right) std::reverse(parts.begin(), parts.end());
  return parts;
}

std::string Lower(std::string_view s) { return MapCodePoints(s, ToLower); }
std::string Upper(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t pos = 0; pos < s.size();) {
    const char32_t cp = NextCodePoint(s, &pos);
    if (const char* special = SpecialUpper(cp)) {
      out += special;
    } else {
      AppendUtf8(ToUpper(cp), &out);
    }
  }
  return out;
}

std::string Title(std::string_view s) {
  bool previous_cased = false;
  return MapCodePoints(s, [&](char32_t cp) {
    char32_t out = previous_cased ? ToLower(cp) : ToTitle(cp);
    previous_cased = IsCased(cp);
    return out;
  });
}

std::string Capitalize(std::string_view s) {
  bool first = true;
  return MapCodePoints(s, [&](char32_t cp) {
    char32_t out = first ? ToTitle(cp) : ToLower(cp);
    first = false;
    return out;
  });
}

std::string Repr(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (size_t pos = 0; pos < s.size();) {
    const char32_t cp = NextCodePoint(s, &pos);
    char buf[16];
    if (cp == static_cast<char32_t>(quote) || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (Printable(cp)) {
      AppendUtf8(cp, &out);
    } else {
      std::snprintf(buf, sizeof(buf),
                    cp < 0x100     ? "\\x%02x"
                    : cp < 0x10000 ? "\\u%04x"
                                   : "\\U%08x",
                    static_cast<unsigned>(cp));
      out += buf;
    }
  }
  out += quote;
  return out;
}

std::optional<int64_t> FloatToInt(double v) {
  // 2^63 is exactly representable; every double below it in magnitude fits in int64.
  if (!(std::fabs(v) < 9223372036854775808.0)) return std::nullopt;
  return static_cast<int64_t>(v);
}

std::string FloatRepr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  // The shortest round-trip digits, from to_chars' scientific form "d.ddde±XX".
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string sci(buf, end);
  const bool negative = sci[0] == '-';
  if (negative) sci.erase(0, 1);
  const size_t e = sci.find('e');
  const int exponent = std::stoi(sci.substr(e + 1));
  std::string digits = sci.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  std::string out = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += "0." + std::string(-exponent - 1, '0') + digits;
    } else if (static_cast<int>(digits.size()) <= exponent + 1) {
      out += digits + std::string(exponent + 1 - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, exponent + 1) + "." + digits.substr(exponent + 1);
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  std::snprintf(buf, sizeof(buf), "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  return out + buf;
}

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      case '\b':
        *out += "\\b";
        break;
      case '\f':
        *out += "\\f";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          *out += buf;
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

}  // namespace flywheel::tokenizer::py
