// The byte <-> code point tables, built once on first use.
#include "common/tokenizer/byte_level.h"

#include "common/tokenizer/utf8.h"

namespace flywheel::tokenizer {
namespace {

struct Tables {
  std::array<char32_t, 256> to_unicode{};
  // Every mapped code point is below U+0144 (0x100 + 68), so a flat array covers the inverse.
  std::array<int16_t, 0x144> to_byte{};
};

const Tables& GetTables() {
  static const Tables tables = [] {
    Tables t;
    t.to_byte.fill(-1);
    auto printable = [](int b) {
      return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    int next = 0;
    for (int b = 0; b < 256; ++b) {
      char32_t cp = printable(b) ? char32_t(b) : char32_t(0x100 + next++);
      t.to_unicode[b] = cp;
      t.to_byte[cp] = static_cast<int16_t>(b);
    }
    return t;
  }();
  return tables;
}

}  // namespace

char32_t ByteToUnicode(unsigned char b) { return GetTables().to_unicode[b]; }

std::optional<unsigned char> UnicodeToByte(char32_t cp) {
  const Tables& t = GetTables();
  if (cp >= t.to_byte.size() || t.to_byte[cp] < 0) return std::nullopt;
  return static_cast<unsigned char>(t.to_byte[cp]);
}

std::string BytesToByteLevel(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) AppendUtf8(ByteToUnicode(b), &out);
  return out;
}

std::optional<std::string> ByteLevelToBytes(std::string_view token) {
  if (!ValidateUtf8(token).ok()) return std::nullopt;
  std::string out;
  out.reserve(token.size());
  for (size_t pos = 0; pos < token.size();) {
    auto b = UnicodeToByte(NextCodePoint(token, &pos));
    if (!b) return std::nullopt;
    out.push_back(static_cast<char>(*b));
  }
  return out;
}

}  // namespace flywheel::tokenizer
