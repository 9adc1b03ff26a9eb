// Decoding: tokenizer.json's "decoder" says how a token's string turns back into bytes. Only
// the byte-level decoder (and none) are supported; both map each token independently, so the
// bytes of every id are computed once at load time and Decode is a concatenation followed by one
// lossy UTF-8 pass.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"

namespace flywheel::tokenizer {

class Tokenizer;

enum class DecoderKind {
  kNone,       // tokens are their own UTF-8 text
  kByteLevel,  // tokens are in GPT-2's byte alphabet
};

// Reads the "decoder" field (null, ByteLevel, or a Sequence holding only ByteLevel).
// Unimplemented for other decoders.
absl::StatusOr<DecoderKind> DecoderKindFromJson(const nlohmann::json& j);

// The bytes token string `token` stands for. For byte-level, a token with a code point outside
// the byte alphabet (typically an added token such as "<think>" written with spaces) is taken
// as its own UTF-8, as Hugging Face's ByteLevel decoder does.
std::string TokenToBytes(std::string_view token, DecoderKind kind);

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
  std::string pending_;
};

}  // namespace flywheel::tokenizer
