// Normalizers from tokenizer.json's "normalizer" field: the Unicode normal forms (via utf8proc)
// and a Sequence of them. Other Hugging Face normalizers (Lowercase, Replace, Prepend, BERT's)
// are rejected at load time rather than silently skipped.
//
// Thread safety: immutable after construction; any thread may call Normalize.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
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

// Builds a normalizer from its JSON object. Returns nullptr for JSON null (no normalizer), and
// InvalidArgument / Unimplemented for malformed or unsupported types.
absl::StatusOr<std::unique_ptr<Normalizer>> NormalizerFromJson(const nlohmann::json& j);

}  // namespace flywheel::tokenizer
