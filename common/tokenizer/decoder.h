// Decoding: tokenizer.json's "decoder" says how a token's string turns back into bytes. Every
// supported decoder maps each token independently, except that SentencePiece-style decoders drop
// the space that encoding put before the text's first word. So the bytes of every id are
// computed once at load time, and Decode is a concatenation (minus that one space) followed by
// one lossy UTF-8 pass.
//
// Supported: none; ByteLevel (GPT-2's byte alphabet); and the SentencePiece chains, a Sequence of
// Replace(U+2581 -> ' '), ByteFallback (<0xXX> tokens are bytes), Fuse and Strip(' ', 1, 0), or a
// Metaspace decoder. One difference from Hugging Face: an invalid UTF-8 run of byte tokens becomes
// one U+FFFD per maximal invalid subpart, not one per byte.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"

namespace flywheel::tokenizer {

class Tokenizer;

struct DecoderSpec {
  bool byte_level = false;     // tokens are in GPT-2's byte alphabet
  std::string space_marker{};  // when set (U+2581), it stands for ' ' in every token
  bool byte_fallback = false;  // "<0xXX>" tokens stand for the byte XX
  // The decoded text's leading ' ' (the one a Prepend normalizer or Metaspace added) is dropped.
  bool strip_leading_space = false;
};

// Reads the "decoder" field (null, ByteLevel, Metaspace, or a Sequence of the steps above).
// Unimplemented for other decoders or steps in an order flywheel cannot reproduce.
absl::StatusOr<DecoderSpec> DecoderFromJson(const nlohmann::json& j);

// The bytes token string `token` stands for. For byte-level, a token with a code point outside
// the byte alphabet (typically an added token such as "<think>" written with spaces) is taken
// as its own UTF-8, as Hugging Face's ByteLevel decoder does.
std::string TokenToBytes(std::string_view token, const DecoderSpec& spec);

// Turns a stream of ids into text that never ends in a partial UTF-8 sequence: each Push
// returns only complete characters; bytes that can no longer become valid come out as U+FFFD.
// The concatenation of all Push results and Flush equals Tokenizer::Decode of the same ids.
//
// Thread safety: one instance per stream, used by one thread at a time. The tokenizer must
// outlive it.
class IncrementalDecoder {
 public:
  explicit IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = false)
      : tokenizer_(tokenizer), skip_special_tokens_(skip_special_tokens) {}

  // Adds one id and returns the text it completes (often empty, e.g. mid-character).
  // InvalidArgument for an id outside the vocabulary; the decoder state is then unchanged.
  absl::StatusOr<std::string> Push(int32_t id);

  // Ends the stream: returns any held-back incomplete sequence as U+FFFD, and resets.
  std::string Flush();

  // Bytes held back waiting for the rest of a character.
  size_t pending_bytes() const { return pending_.size(); }

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_tokens_;
  bool started_ = false;  // a token has been emitted (the leading-space strip is behind us)
  std::string pending_;
};

}  // namespace flywheel::tokenizer
