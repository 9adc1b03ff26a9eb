// flywheel's tokenizer: loads a Hugging Face tokenizer.json (+ tokenizer_config.json) and turns
// text into the token ids the model was trained with, and back. flywheel keeps ids end to end;
// text is decoded only for display, stop strings and reward functions.
//
// Encode pipeline (Hugging Face's order): validate UTF-8 -> cut out added tokens that match raw
// text -> normalize (NFC, or SentencePiece's Prepend/Replace) each remaining segment -> cut out
// added tokens that match normalized text -> pre-tokenize (regex split, byte-level, Metaspace) ->
// BPE each piece (with byte fallback for SentencePiece-style vocabularies). No BOS/EOS is added: a
// chat template carries its own markers, and callers append eos_id() where they mean it.
//
// Thread safety: a Tokenizer is immutable after loading; any thread may call any const method.
// Not copyable.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/tokenizer/added_tokens.h"
#include "common/tokenizer/bpe_model.h"
#include "common/tokenizer/chat_template.h"
#include "common/tokenizer/decoder.h"
#include "common/tokenizer/normalizer.h"
#include "common/tokenizer/pre_tokenizer.h"

namespace flywheel::tokenizer {

struct DecodeOptions {
  bool skip_special_tokens = false;  // drop ids of added tokens marked "special"
};

// Everything a Tokenizer is built from; filled by the loader (tokenizer_loader.cc).
struct TokenizerParts {
  std::unique_ptr<BpeModel> model;
  std::unique_ptr<Normalizer> normalizer;  // may be null
  PreTokenizerSpec pre_tokenizer;          // pre_tokenizer may be null
  DecoderSpec decoder;
  std::vector<AddedToken> added_tokens;
  // From tokenizer_config.json (all optional).
  std::string chat_template;
  nlohmann::ordered_json chat_template_special_tokens;  // ChatTemplateSpecialTokens
  std::optional<std::string> eos_token, bos_token, pad_token;
};

class Tokenizer {
 public:
  // Loads `path`: a tokenizer.json file, or a directory holding one. A tokenizer_config.json
  // beside it, when present, supplies the chat template and the eos / bos / pad tokens.
  // NotFound if there is no tokenizer.json; InvalidArgument for malformed or inconsistent files
  // (bad JSON, merges naming unknown tokens, ...); Unimplemented for model, normalizer,
  // pre-tokenizer or decoder types flywheel does not support.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromFile(const std::string& path);

  // Same, from the files' contents; `tokenizer_config_json` may be empty.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromJson(
      std::string_view tokenizer_json, std::string_view tokenizer_config_json = {});

  // Builds a tokenizer from parts (used by the loader; errors as FromJson).
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromParts(TokenizerParts parts);

  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Encodes text; added tokens (including specials such as <|im_end|>) written in the text
  // become their ids. InvalidArgument if `text` is not valid UTF-8.
  absl::StatusOr<std::vector<int32_t>> Encode(std::string_view text) const;

  // Encodes text treating added-token strings as ordinary text (for untrusted content that
  // must not forge control tokens). InvalidArgument if `text` is not valid UTF-8.
  absl::StatusOr<std::vector<int32_t>> EncodeOrdinary(std::string_view text) const;

  // Decodes ids to text; byte sequences that are not valid UTF-8 become U+FFFD.
  // InvalidArgument for an id that is not in the vocabulary.
  absl::StatusOr<std::string> Decode(absl::Span<const int32_t> ids,
                                     const DecodeOptions& options = {}) const;

  // The raw bytes id stands for (possibly a partial UTF-8 sequence). InvalidArgument for an id
  // not in the vocabulary. The view lives as long as the tokenizer.
  absl::StatusOr<std::string_view> TokenBytes(int32_t id) const;

  // The id of a token string in the file's form (e.g. "Ġthe" or "<|im_end|>").
  std::optional<int32_t> TokenToId(std::string_view token) const;

  // One past the largest id (the embedding table needs at least this many rows).
  int32_t vocab_size() const { return static_cast<int32_t>(token_bytes_.size()); }
  bool IsSpecial(int32_t id) const;
  // Decoding drops the text's leading space (SentencePiece-style tokenizers, see decoder.h).
  bool strips_leading_space() const { return parts_.decoder.strip_leading_space; }

  std::optional<int32_t> eos_id() const { return eos_id_; }
  std::optional<int32_t> bos_id() const { return bos_id_; }
  std::optional<int32_t> pad_id() const { return pad_id_; }

  // The named chat format tokenizer_config.json's template resembles, if any.
  std::optional<ChatFormat> chat_format() const { return chat_format_; }

  // tokenizer_config.json's own chat template, compiled; null when it has none or it does not
  // parse (ApplyChatTemplate then reports why).
  const ChatTemplate* chat_template() const { return chat_template_.get(); }

  // Renders messages with tokenizer_config.json's own template, as transformers'
  // apply_chat_template would. FailedPrecondition if the config has no template; the
  // template's parse or render error otherwise.
  absl::StatusOr<std::string> ApplyChatTemplate(absl::Span<const ChatMessage> messages,
                                                const ChatTemplateOptions& options = {}) const;

 private:
  explicit Tokenizer(TokenizerParts parts);
  absl::StatusOr<std::vector<int32_t>> EncodeImpl(std::string_view text, bool added) const;
  // `at_start`: the segment begins the text (Metaspace's prepend_scheme "first" needs it).
  absl::Status EncodeSegment(std::string_view text, bool added, bool at_start,
                             std::vector<int32_t>* ids) const;
  absl::Status EncodeNormalized(std::string_view text, bool at_start,
                                std::vector<int32_t>* ids) const;

  TokenizerParts parts_;
  std::unique_ptr<AddedTokenMatcher> raw_matcher_;         // tokens with normalized=false
  std::unique_ptr<AddedTokenMatcher> normalized_matcher_;  // tokens with normalized=true
  std::vector<std::string> token_bytes_;                   // by id
  std::vector<bool> valid_id_, special_;                   // by id
  absl::flat_hash_map<std::string, int32_t> added_by_content_;
  std::optional<int32_t> eos_id_, bos_id_, pad_id_;
  std::optional<ChatFormat> chat_format_;
  std::unique_ptr<ChatTemplate> chat_template_;
  absl::Status chat_template_status_;  // why chat_template_ is null
};

}  // namespace flywheel::tokenizer
