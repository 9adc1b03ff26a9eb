// GPT-2's byte-level alphabet: every byte is shown as a printable code point so that a BPE
// vocabulary over bytes can be stored as JSON strings. Printable Latin-1 bytes stand for
// themselves; the other 68 bytes (controls, space, 0x7F-0xA0, 0xAD) map to U+0100 onwards.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace flywheel::tokenizer {

// The code point that stands for byte `b`.
char32_t ByteToUnicode(unsigned char b);

// The byte that code point `cp` stands for, or nullopt if `cp` is not in the alphabet.
std::optional<unsigned char> UnicodeToByte(char32_t cp);

// Maps raw bytes to their byte-level string (UTF-8 of the mapped code points).
std::string BytesToByteLevel(std::string_view bytes);

// Reverses BytesToByteLevel. Returns nullopt if `token` is not valid UTF-8 or holds a code point
// outside the alphabet (such tokens, e.g. most added tokens, decode to their own text).
std::optional<std::string> ByteLevelToBytes(std::string_view token);

}  // namespace flywheel::tokenizer
