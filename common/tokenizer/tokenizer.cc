// Encode / Decode over the loaded parts.
#include "common/tokenizer/tokenizer.h"

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/tokenizer/utf8.h"

namespace flywheel::tokenizer {

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromParts(TokenizerParts parts) {
  if (parts.model == nullptr) return absl::InvalidArgumentError("tokenizer: no model");
  // Added tokens must not take an id that the model gives to a different string, nor share one.
  absl::flat_hash_map<int32_t, std::string> added_ids;
  for (const AddedToken& t : parts.added_tokens) {
    if (t.id < 0 || t.id > BpeModel::kMaxId) {
      return absl::InvalidArgumentError(
          absl::StrCat("added token '", t.content, "' has out-of-range id ", t.id));
    }
    if (t.content.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("added token ", t.id, " has no content"));
    }
    if (!added_ids.emplace(t.id, t.content).second && added_ids[t.id] != t.content) {
      return absl::InvalidArgumentError(absl::StrCat("added tokens '", added_ids[t.id], "' and '",
                                                     t.content, "' share id ", t.id));
    }
    const auto& vocab = parts.model->id_to_token();
    if (static_cast<size_t>(t.id) < vocab.size() && !vocab[t.id].empty() &&
        vocab[t.id] != t.content) {
      return absl::InvalidArgumentError(absl::StrCat("added token '", t.content, "' has id ", t.id,
                                                     ", which the vocab gives to '", vocab[t.id],
                                                     "'"));
    }
  }
  std::unique_ptr<Tokenizer> tok(new Tokenizer(std::move(parts)));
  auto resolve = [&](const std::optional<std::string>& name, const char* what,
                     std::optional<int32_t>* out) -> absl::Status {
    if (!name) return absl::OkStatus();
    *out = tok->TokenToId(*name);
    if (!*out) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " '", *name, "' from tokenizer_config.json is not a token"));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(resolve(tok->parts_.eos_token, "eos_token", &tok->eos_id_));
  RETURN_IF_ERROR(resolve(tok->parts_.bos_token, "bos_token", &tok->bos_id_));
  RETURN_IF_ERROR(resolve(tok->parts_.pad_token, "pad_token", &tok->pad_id_));
  if (!tok->parts_.chat_template.empty()) {
    auto format = DetectChatFormat(tok->parts_.chat_template);
    if (format.ok()) tok->chat_format_ = *format;
    auto compiled = ChatTemplate::FromJinja(tok->parts_.chat_template,
                                            tok->parts_.chat_template_special_tokens);
    if (compiled.ok()) {
      tok->chat_template_ = *std::move(compiled);
    } else {
      tok->chat_template_status_ = compiled.status();
    }
  } else {
    tok->chat_template_status_ =
        absl::FailedPreconditionError("tokenizer_config.json has no chat_template");
  }
  return tok;
}

Tokenizer::Tokenizer(TokenizerParts parts) : parts_(std::move(parts)) {
  const auto& vocab = parts_.model->id_to_token();
  size_t n = vocab.size();
  for (const AddedToken& t : parts_.added_tokens) n = std::max(n, static_cast<size_t>(t.id) + 1);
  token_bytes_.resize(n);
  valid_id_.assign(n, false);
  special_.assign(n, false);
  for (size_t id = 0; id < vocab.size(); ++id) {
    if (vocab[id].empty()) continue;
    token_bytes_[id] = TokenToBytes(vocab[id], parts_.decoder);
    valid_id_[id] = true;
  }
  std::vector<AddedToken> raw, normalized;
  for (AddedToken& t : parts_.added_tokens) {
    token_bytes_[t.id] = TokenToBytes(t.content, parts_.decoder);
    valid_id_[t.id] = true;
    special_[t.id] = t.special;
    added_by_content_.emplace(t.content, t.id);
    if (t.normalized && parts_.normalizer) {
      // A normalized token is looked for in normalized text, so normalize its content too.
      AddedToken copy = t;
      if (parts_.normalizer->Normalize(t.content, &copy.content).ok()) {
        normalized.push_back(std::move(copy));
      }
    } else {
      (t.normalized ? normalized : raw).push_back(t);
    }
  }
  raw_matcher_ = std::make_unique<AddedTokenMatcher>(raw);
  normalized_matcher_ = std::make_unique<AddedTokenMatcher>(normalized);
}

absl::StatusOr<std::vector<int32_t>> Tokenizer::Encode(std::string_view text) const {
  return EncodeImpl(text, /*added=*/true);
}

absl::StatusOr<std::vector<int32_t>> Tokenizer::EncodeOrdinary(std::string_view text) const {
  return EncodeImpl(text, /*added=*/false);
}

absl::StatusOr<std::vector<int32_t>> Tokenizer::EncodeImpl(std::string_view text,
                                                           bool added) const {
  RETURN_IF_ERROR(ValidateUtf8(text));
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  if (!added || raw_matcher_->empty()) {
    RETURN_IF_ERROR(EncodeSegment(text, added, /*at_start=*/true, &ids));
    return ids;
  }
  std::vector<TextSegment> segments;
  raw_matcher_->Split(text, &segments);
  for (const TextSegment& s : segments) {
    if (s.id >= 0) {
      ids.push_back(s.id);
    } else {
      RETURN_IF_ERROR(
          EncodeSegment(text.substr(s.begin, s.end - s.begin), added, s.begin == 0, &ids));
    }
  }
  return ids;
}

absl::Status Tokenizer::EncodeSegment(std::string_view text, bool added, bool at_start,
                                      std::vector<int32_t>* ids) const {
  std::string normalized_storage;
  std::string_view normalized = text;
  if (parts_.normalizer) {
    RETURN_IF_ERROR(parts_.normalizer->Normalize(text, &normalized_storage));
    normalized = normalized_storage;
  }
  if (!added || normalized_matcher_->empty()) return EncodeNormalized(normalized, at_start, ids);
  std::vector<TextSegment> segments;
  normalized_matcher_->Split(normalized, &segments);
  for (const TextSegment& s : segments) {
    if (s.id >= 0) {
      ids->push_back(s.id);
    } else {
      RETURN_IF_ERROR(EncodeNormalized(normalized.substr(s.begin, s.end - s.begin),
                                       at_start && s.begin == 0, ids));
    }
  }
  return absl::OkStatus();
}

absl::Status Tokenizer::EncodeNormalized(std::string_view text, bool at_start,
                                         std::vector<int32_t>* ids) const {
  if (text.empty()) return absl::OkStatus();
  PreTokenized pt;
  pt.at_text_start = at_start;
  pt.pieces.push_back(text);
  if (parts_.pre_tokenizer.pre_tokenizer) {
    RETURN_IF_ERROR(parts_.pre_tokenizer.pre_tokenizer->Split(&pt));
  }
  for (std::string_view piece : pt.pieces) RETURN_IF_ERROR(parts_.model->EncodeWord(piece, ids));
  return absl::OkStatus();
}

absl::StatusOr<std::string> Tokenizer::Decode(absl::Span<const int32_t> ids,
                                              const DecodeOptions& options) const {
  std::string bytes;
  for (int32_t id : ids) {
    ASSIGN_OR_RETURN(std::string_view b, TokenBytes(id));
    if (options.skip_special_tokens && special_[id]) continue;
    bytes.append(b);
  }
  if (strips_leading_space() && !bytes.empty() && bytes[0] == ' ') bytes.erase(0, 1);
  std::string out;
  out.reserve(bytes.size());
  AppendUtf8Lossy(bytes, /*final=*/true, &out);
  return out;
}

absl::StatusOr<std::string_view> Tokenizer::TokenBytes(int32_t id) const {
  if (id < 0 || id >= vocab_size() || !valid_id_[id]) {
    return absl::InvalidArgumentError(
        absl::StrCat("token id ", id, " is not in the vocabulary (size ", vocab_size(), ")"));
  }
  return std::string_view(token_bytes_[id]);
}

std::optional<int32_t> Tokenizer::TokenToId(std::string_view token) const {
  auto it = added_by_content_.find(AbslView(token));
  if (it != added_by_content_.end()) return it->second;
  return parts_.model->TokenToId(token);
}

bool Tokenizer::IsSpecial(int32_t id) const { return id >= 0 && id < vocab_size() && special_[id]; }

absl::StatusOr<std::string> Tokenizer::ApplyChatTemplate(absl::Span<const ChatMessage> messages,
                                                         const ChatTemplateOptions& options) const {
  if (chat_template_ == nullptr) return chat_template_status_;
  return chat_template_->Render(messages, options);
}

}  // namespace flywheel::tokenizer
