// Pre-tokenizers from tokenizer.json's "pre_tokenizer" field: they cut normalized text into the
// pieces ("words") that BPE encodes independently. Supported: Split (regex or literal, all five
// delimiter behaviours, invert), ByteLevel, Digits and Sequence. ByteLevel's byte-to-code-point
// mapping is not materialized: pieces stay raw UTF-8 and the BPE model maps bytes directly, which
// is exact as long as ByteLevel is the last step (checked at load).
//
// Thread safety: immutable after construction; any thread may call Split.
#pragma once

#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tokenizer/regex.h"
#include "nlohmann/json_fwd.hpp"

namespace flywheel::tokenizer {

// Text in the middle of pre-tokenization. Pieces point into the caller's text or into `arena`
// (a list, so earlier strings stay put while later ones are added, and an empty one costs no
// allocation).
struct PreTokenized {
  std::vector<std::string_view> pieces;
  std::list<std::string> arena;
  bool at_text_start = true;  // the pieces begin the text (not after an added token)
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces every piece of *pt by its sub-pieces, in order; empty pieces are dropped.
  // Errors only when the regex engine gives up on an input.
  virtual absl::Status Split(PreTokenized* pt) const = 0;
};

// Hugging Face's SplitDelimiterBehavior.
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(std::unique_ptr<Regex> regex, SplitBehavior behavior, bool invert)
      : regex_(std::move(regex)), behavior_(behavior), invert_(invert) {}
  absl::Status Split(PreTokenized* pt) const override;

 private:
  std::unique_ptr<Regex> regex_;
  SplitBehavior behavior_;
  bool invert_;
};

class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  // `regex` is GPT-2's split pattern when use_regex is set in the file, otherwise null.
  ByteLevelPreTokenizer(bool add_prefix_space, std::unique_ptr<Regex> regex)
      : add_prefix_space_(add_prefix_space), regex_(std::move(regex)) {}
  absl::Status Split(PreTokenized* pt) const override;

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> regex_;
};

// SentencePiece's word marker: ' ' becomes `replacement` (U+2581), the piece gets one in front
// (prepend scheme "always", or "first" for the piece that begins the text) unless it already
// starts with one, and with `split` the piece is cut before each marker.
enum class PrependScheme { kAlways, kFirst, kNever };

class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme prepend, bool split)
      : replacement_(std::move(replacement)), prepend_(prepend), split_(split) {}
  absl::Status Split(PreTokenized* pt) const override;

 private:
  std::string replacement_;
  PrependScheme prepend_;
  bool split_;
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps_(std::move(steps)) {}
  absl::Status Split(PreTokenized* pt) const override;

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

// GPT-2's pattern, used by ByteLevel when "use_regex" is true (the default).
inline constexpr std::string_view kGpt2SplitPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct PreTokenizerSpec {
  std::unique_ptr<PreTokenizer> pre_tokenizer;  // null when the file has none
  bool byte_level = false;  // a ByteLevel step ends the chain: BPE works on bytes
};

// Builds the pre-tokenizer from its JSON object (or null). InvalidArgument for malformed JSON or
// regexes, Unimplemented for unsupported types or a ByteLevel step that is not the last one.
absl::StatusOr<PreTokenizerSpec> PreTokenizerFromJson(const nlohmann::json& j);

}  // namespace flywheel::tokenizer
