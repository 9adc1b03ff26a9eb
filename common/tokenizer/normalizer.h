// Normalizers from tokenizer.json's "normalizer" field: the Unicode normal forms (via utf8proc),
// the SentencePiece-style Replace (a literal string or a regex) and Prepend, and a Sequence of
// them. Other Hugging Face normalizers (Lowercase, Strip, BERT's, Precompiled) are rejected at load
// time rather than silently skipped.
//
// Thread safety: immutable after construction; any thread may call Normalize.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tokenizer/regex.h"
#include "nlohmann/json_fwd.hpp"

namespace flywheel::tokenizer {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // Normalizes valid UTF-8 `text` into *out (replacing its contents).
  virtual absl::Status Normalize(std::string_view text, std::string* out) const = 0;
};

enum class NormalForm { kNFC, kNFD, kNFKC, kNFKD };

// Applies one Unicode normal form. Text that is already normalized by a quick check (IsNfcQuick
// for NFC, ASCII for the others) is copied without calling utf8proc.
class UnicodeNormalizer : public Normalizer {
 public:
  explicit UnicodeNormalizer(NormalForm form) : form_(form) {}
  absl::Status Normalize(std::string_view text, std::string* out) const override;

 private:
  NormalForm form_;
};

// True if `cp` can never change under NFC nor combine with its neighbours: a starter with no
// non-recomposing canonical decomposition that is never the second element of a composition.
// A string of such code points is in NFC, which spares utf8proc for most CJK, emoji and
// unaccented text.
bool IsNfcInert(char32_t cp);
// True if valid UTF-8 `text` consists of NFC-inert code points (so NFC(text) == text). False
// does not mean the text is not NFC, only that utf8proc must decide.
bool IsNfcQuick(std::string_view text);

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps)
      : steps_(std::move(steps)) {}
  absl::Status Normalize(std::string_view text, std::string* out) const override;

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

// Replaces every non-overlapping match of a pattern, left to right, by `content` (Llama 2 and
// Gemma turn ' ' into U+2581 this way). `pattern` is a literal string or a regex.
class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(std::unique_ptr<Regex> pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  absl::Status Normalize(std::string_view text, std::string* out) const override;

 private:
  std::unique_ptr<Regex> pattern_;
  std::string content_;
};

// Prepends a string to non-empty text (Llama 2's U+2581 before each segment between added
// tokens).
class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  absl::Status Normalize(std::string_view text, std::string* out) const override;

 private:
  std::string prefix_;
};

// Reads a {"String": s} or {"Regex": r} pattern object (Replace, Split); `where` names the field
// in errors.
absl::StatusOr<std::unique_ptr<Regex>> PatternFromJson(const nlohmann::json& j,
                                                       std::string_view where);

// Builds a normalizer from its JSON object. Returns nullptr for JSON null (no normalizer), and
// InvalidArgument / Unimplemented for malformed or unsupported types.
absl::StatusOr<std::unique_ptr<Normalizer>> NormalizerFromJson(const nlohmann::json& j);

}  // namespace flywheel::tokenizer
