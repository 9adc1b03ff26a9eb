// Stop strings for the rollout engine: finds the first time a completion's text contains one of
// them, looking only at what each new token adds.
//
// The text is what Tokenizer::Decode gives for the completion's ids (their bytes concatenated,
// the leading space dropped for SentencePiece-style tokenizers, invalid UTF-8 replaced by U+FFFD),
// but it is built incrementally: bytes that form complete UTF-8 are converted once, and only a
// trailing incomplete sequence (at most 3 bytes) is re-read per token. Decoding the whole
// completion every token, as the engine once did, made a step's cost grow with the completion.
//
// Thread safety: none; one scanner per sequence, used by the engine thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace flywheel::rollout {

class StopStringScanner {
 public:
  // stops must be non-empty strings and outlive the scanner.
  StopStringScanner(const std::vector<std::string>* stops, bool strip_leading_space);

  // Appends one token's bytes; true when the text now contains a stop string (it did not before).
  bool Append(std::string_view token_bytes);

 private:
  const std::vector<std::string>* stops_;
  size_t longest_ = 0;
  bool strip_leading_space_;
  bool at_start_ = true;
  std::string text_;     // Decoded text of every byte but the pending ones.
  std::string pending_;  // A trailing UTF-8 sequence that is incomplete but may still be valid.
  size_t searched_ = 0;  // Length of the text (pending part included) at the last search.
};

}  // namespace flywheel::rollout
