// The tokenizer of flywheel's built-in tiny models: one token per byte (id b is byte b, written
// in GPT-2's byte alphabet so the file is a valid Hugging Face tokenizer.json) plus three ChatML
// specials, and no merges. It is loaded through the same Tokenizer code as any checkpoint's.
// Tiny models built on it need vocab_size >= kByteLevelVocabSize.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace flywheel::tokenizer {

inline constexpr int32_t kByteLevelEndOfText = 256;  // <|endoftext|>, also the pad token
inline constexpr int32_t kByteLevelImStart = 257;    // <|im_start|>
inline constexpr int32_t kByteLevelImEnd = 258;      // <|im_end|>, the eos token
inline constexpr int32_t kByteLevelVocabSize = 259;

// The contents of the two files.
std::string ByteLevelTokenizerJson();
std::string ByteLevelTokenizerConfigJson();

// Writes tokenizer.json and tokenizer_config.json (ChatML template, eos <|im_end|>) into `dir`,
// creating it if needed. Internal error naming the path if a file cannot be written.
absl::Status WriteByteLevelTokenizer(const std::string& dir);

}  // namespace flywheel::tokenizer
