// Token-to-bytes mapping and the streaming decoder.
#include "common/tokenizer/decoder.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/base/status_macros.h"
#include "common/tokenizer/byte_level.h"
#include "common/tokenizer/tokenizer.h"
#include "common/tokenizer/utf8.h"
#include "nlohmann/json.hpp"

namespace flywheel::tokenizer {
namespace {

using nlohmann::json;

constexpr std::string_view kSpaceMarker = "\u2581";

std::string TypeOf(const json& j) {
  return j.is_object() && j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>()
                                                                      : std::string();
}

// One step of a decoder Sequence; `fused` says whether a Fuse step came before.
absl::Status AddStep(const json& step, bool* fused, DecoderSpec* spec) {
  const std::string type = TypeOf(step);
  if (type == "ByteLevel" || type == "Metaspace") {
    ASSIGN_OR_RETURN(DecoderSpec sub, DecoderFromJson(step));
    spec->byte_level |= sub.byte_level;
    if (!sub.space_marker.empty()) spec->space_marker = sub.space_marker;
    spec->strip_leading_space |= sub.strip_leading_space;
    return absl::OkStatus();
  }
  if (type == "Replace") {
    const json& pattern = step.value("pattern", json());
    if (pattern.is_object() && pattern.value("String", "") == kSpaceMarker &&
        step.value("content", "") == " ") {
      spec->space_marker = std::string(kSpaceMarker);
      return absl::OkStatus();
    }
    return absl::UnimplementedError(
        "decoder Replace: only U+2581 -> ' ' (SentencePiece's space marker) is supported");
  }
  if (type == "ByteFallback") {
    spec->byte_fallback = true;
    return absl::OkStatus();
  }
  if (type == "Fuse") {
    *fused = true;
    return absl::OkStatus();
  }
  if (type == "Strip") {
    // Strip works per token; after Fuse there is one token, the whole text, and stripping one
    // leading space undoes the space that encoding prepended.
    if (*fused && step.value("content", "") == " " && step.value("start", -1) == 1 &&
        step.value("stop", -1) == 0) {
      spec->strip_leading_space = true;
      return absl::OkStatus();
    }
    return absl::UnimplementedError(
        "decoder Strip: only content ' ', start 1, stop 0 after a Fuse step is supported");
  }
  return absl::UnimplementedError(absl::StrCat(
      "decoder type '", type,
      "' is not supported (flywheel supports ByteLevel, Metaspace, Replace, ByteFallback, Fuse, "
      "Strip and Sequence)"));
}

// "<0x41>" -> 0x41.
std::optional<char> FallbackByte(std::string_view token) {
  if (token.size() != 6 || token.substr(0, 3) != "<0x" || token[5] != '>') return std::nullopt;
  int value = 0;
  for (char c : token.substr(3, 2)) {
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (digit < 0) return std::nullopt;
    value = value * 16 + digit;
  }
  return static_cast<char>(value);
}

}  // namespace

absl::StatusOr<DecoderSpec> DecoderFromJson(const json& j) {
  DecoderSpec spec;
  if (j.is_null()) return spec;
  const std::string type = TypeOf(j);
  if (type.empty()) {
    return absl::InvalidArgumentError("decoder: expected an object with a string \"type\"");
  }
  if (type == "ByteLevel") {
    spec.byte_level = true;
    return spec;
  }
  if (type == "Metaspace") {
    const json& replacement = j.value("replacement", json(std::string(kSpaceMarker)));
    if (!replacement.is_string() || replacement.get_ref<const std::string&>().empty()) {
      return absl::InvalidArgumentError("decoder Metaspace: \"replacement\" must be a string");
    }
    spec.space_marker = replacement.get<std::string>();
    // Newer files say prepend_scheme; older ones add_prefix_space (true meant "always").
    const json& scheme = j.value("prepend_scheme", json());
    spec.strip_leading_space =
        scheme.is_string() ? scheme != "never" : j.value("add_prefix_space", true);
    return spec;
  }
  if (type == "Sequence") {
    if (!j.contains("decoders") || !j["decoders"].is_array()) {
      return absl::InvalidArgumentError("decoder Sequence: missing \"decoders\" array");
    }
    bool fused = false;
    for (const json& step : j["decoders"]) RETURN_IF_ERROR(AddStep(step, &fused, &spec));
    return spec;
  }
  bool fused = false;
  RETURN_IF_ERROR(AddStep(j, &fused, &spec));
  return spec;
}

std::string TokenToBytes(std::string_view token, const DecoderSpec& spec) {
  if (spec.byte_level) {
    if (auto bytes = ByteLevelToBytes(token)) return *std::move(bytes);
  }
  if (spec.byte_fallback) {
    if (auto byte = FallbackByte(token)) return std::string(1, *byte);
  }
  if (!spec.space_marker.empty()) {
    return absl::StrReplaceAll(AbslView(token), {{AbslView(spec.space_marker), " "}});
  }
  return std::string(token);
}

absl::StatusOr<std::string> IncrementalDecoder::Push(int32_t id) {
  ASSIGN_OR_RETURN(std::string_view bytes, tokenizer_.TokenBytes(id));
  if (skip_special_tokens_ && tokenizer_.IsSpecial(id)) return std::string();
  if (!started_ && tokenizer_.strips_leading_space() && !bytes.empty() && bytes[0] == ' ') {
    bytes.remove_prefix(1);
  }
  started_ = true;
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
  started_ = false;
  return out;
}

}  // namespace flywheel::tokenizer
