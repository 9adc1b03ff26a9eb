// Token-to-bytes mapping and the streaming decoder.
#include "common/tokenizer/decoder.h"

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/tokenizer/byte_level.h"
#include "common/tokenizer/tokenizer.h"
#include "common/tokenizer/utf8.h"
#include "nlohmann/json.hpp"

namespace flywheel::tokenizer {

absl::StatusOr<DecoderKind> DecoderKindFromJson(const nlohmann::json& j) {
  if (j.is_null()) return DecoderKind::kNone;
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    return absl::InvalidArgumentError("decoder: expected an object with a string \"type\"");
  }
  const std::string type = j["type"].get<std::string>();
  if (type == "ByteLevel") return DecoderKind::kByteLevel;
  if (type == "Sequence" && j.contains("decoders") && j["decoders"].is_array() &&
      j["decoders"].size() == 1) {
    return DecoderKindFromJson(j["decoders"][0]);
  }
  return absl::UnimplementedError(absl::StrCat(
      "decoder type '", type, "' is not supported (flywheel supports ByteLevel and none)"));
}

std::string TokenToBytes(std::string_view token, DecoderKind kind) {
  if (kind == DecoderKind::kByteLevel) {
    if (auto bytes = ByteLevelToBytes(token)) return *std::move(bytes);
  }
  return std::string(token);
}

absl::StatusOr<std::string> IncrementalDecoder::Push(int32_t id) {
  ASSIGN_OR_RETURN(std::string_view bytes, tokenizer_.TokenBytes(id));
  if (skip_special_tokens_ && tokenizer_.IsSpecial(id)) return std::string();
  pending_.append(bytes);
  std::string out;
  size_t consumed = AppendUtf8Lossy(pending_, /*final=*/false, &out);
  pending_.erase(0, consumed);
  return out;
}

std::string IncrementalDecoder::Flush() {
  std::string out;
  AppendUtf8Lossy(pending_, /*final=*/true, &out);
  pending_.clear();
  return out;
}

}  // namespace flywheel::tokenizer
