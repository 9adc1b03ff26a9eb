// Unicode normalization through utf8proc (Debian's libutf8proc, Unicode 15).
#include "common/tokenizer/normalizer.h"

#include <utf8proc.h>

#include <cstdlib>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/tokenizer/utf8.h"
#include "nlohmann/json.hpp"

namespace flywheel::tokenizer {
namespace {

// True when every byte is below `limit`. NFD and the compatibility forms rewrite Latin-1
// letters or U+00A0, so only ASCII (bytes below 0x80) can skip them.
bool AllBytesBelow(std::string_view text, unsigned char limit) {
  for (unsigned char c : text) {
    if (c >= limit) return false;
  }
  return true;
}

}  // namespace

namespace {

// One bit per code point, computed once from utf8proc's tables. A code point with a canonical
// decomposition is asked directly whether NFC keeps it (utf8proc does not flag singletons such
// as U+0374 as composition exclusions).
std::vector<uint64_t> BuildInertTable() {
  std::vector<uint64_t> bits(0x110000 / 64, 0);
  for (char32_t cp = 0; cp < 0x110000; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    // Hangul vowel and trailing jamo compose algorithmically with what precedes them. utf8proc
    // 2.8 also composes U+11A7 (an archaic vowel; Unicode's trailing range starts at U+11A8),
    // so it is not inert either: the quick path must agree with utf8proc whatever the context.
    if ((cp >= 0x1161 && cp <= 0x1175) || (cp >= 0x11A7 && cp <= 0x11C2)) continue;
    const utf8proc_property_t* p = utf8proc_get_property(static_cast<utf8proc_int32_t>(cp));
    if (p->combining_class != 0) continue;  // may be reordered
    // utf8proc's comb_index marks a possible second element of a composition at >= 0x8000.
    if (p->comb_index != UINT16_MAX && p->comb_index >= 0x8000) continue;
    if (p->decomp_seqindex != UINT16_MAX && p->decomp_type == 0) {
      utf8proc_int32_t in = static_cast<utf8proc_int32_t>(cp), out[8];
      const auto decompose = static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
      const auto compose = static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE);
      utf8proc_ssize_t n = utf8proc_decompose_char(in, out, 8, decompose, nullptr);
      n = n > 0 && n <= 8 ? utf8proc_normalize_utf32(out, n, compose) : -1;
      if (n != 1 || out[0] != in) continue;
    }
    bits[cp / 64] |= uint64_t{1} << (cp % 64);
  }
  return bits;
}

}  // namespace

bool IsNfcInert(char32_t cp) {
  static const std::vector<uint64_t>* const table = new std::vector<uint64_t>(BuildInertTable());
  return cp < 0x110000 && ((*table)[cp / 64] >> (cp % 64)) & 1;
}

bool IsNfcQuick(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    if (static_cast<unsigned char>(text[pos]) < 0xCC) {
      // Below U+0300: inert (ICU's NFC quick check uses the same bound).
      pos += static_cast<unsigned char>(text[pos]) < 0x80 ? 1 : 2;
      continue;
    }
    if (!IsNfcInert(NextCodePoint(text, &pos))) return false;
  }
  return true;
}

absl::Status UnicodeNormalizer::Normalize(std::string_view text, std::string* out) const {
  if (form_ == NormalForm::kNFC ? IsNfcQuick(text) : AllBytesBelow(text, 0x80)) {
    out->assign(text);
    return absl::OkStatus();
  }
  int options = UTF8PROC_STABLE;
  switch (form_) {
    case NormalForm::kNFC:
      options |= UTF8PROC_COMPOSE;
      break;
    case NormalForm::kNFD:
      options |= UTF8PROC_DECOMPOSE;
      break;
    case NormalForm::kNFKC:
      options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
      break;
    case NormalForm::kNFKD:
      options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
      break;
  }
  utf8proc_uint8_t* result = nullptr;
  utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                    static_cast<utf8proc_ssize_t>(text.size()), &result,
                                    static_cast<utf8proc_option_t>(options));
  if (n < 0) {
    return absl::InvalidArgumentError(absl::StrCat("normalization failed: ", utf8proc_errmsg(n)));
  }
  out->assign(reinterpret_cast<const char*>(result), static_cast<size_t>(n));
  std::free(result);
  return absl::OkStatus();
}

absl::Status SequenceNormalizer::Normalize(std::string_view text, std::string* out) const {
  out->assign(text);
  std::string tmp;
  for (const auto& step : steps_) {
    RETURN_IF_ERROR(step->Normalize(*out, &tmp));
    out->swap(tmp);
  }
  return absl::OkStatus();
}

absl::Status ReplaceNormalizer::Normalize(std::string_view text, std::string* out) const {
  out->clear();
  size_t last = 0;
  RETURN_IF_ERROR(pattern_->ForEachMatch(text, [&](size_t begin, size_t end) {
    out->append(text.substr(last, begin - last));
    out->append(content_);
    last = end;
  }));
  out->append(text.substr(last));
  return absl::OkStatus();
}

absl::Status PrependNormalizer::Normalize(std::string_view text, std::string* out) const {
  out->clear();
  if (!text.empty()) absl::StrAppend(out, prefix_, AbslView(text));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Regex>> PatternFromJson(const nlohmann::json& j,
                                                       std::string_view where) {
  if (j.is_object() && j.contains("Regex") && j["Regex"].is_string()) {
    return Regex::Compile(j["Regex"].get<std::string>());
  }
  if (j.is_object() && j.contains("String") && j["String"].is_string()) {
    if (j["String"].get_ref<const std::string&>().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(AbslView(where), ": empty \"String\""));
    }
    return Regex::Compile(j["String"].get<std::string>(), /*literal=*/true);
  }
  return absl::InvalidArgumentError(
      absl::StrCat(AbslView(where), ": \"pattern\" needs a string Regex or String"));
}

absl::StatusOr<std::unique_ptr<Normalizer>> NormalizerFromJson(const nlohmann::json& j) {
  if (j.is_null()) return std::unique_ptr<Normalizer>();
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    return absl::InvalidArgumentError("normalizer: expected an object with a string \"type\"");
  }
  const std::string type = j["type"].get<std::string>();
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(NormalForm::kNFC);
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(NormalForm::kNFD);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(NormalForm::kNFKC);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(NormalForm::kNFKD);
  if (type == "Sequence") {
    if (!j.contains("normalizers") || !j["normalizers"].is_array()) {
      return absl::InvalidArgumentError("normalizer Sequence: missing \"normalizers\" array");
    }
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (const auto& step : j["normalizers"]) {
      ASSIGN_OR_RETURN(auto n, NormalizerFromJson(step));
      if (n) steps.push_back(std::move(n));
    }
    return std::make_unique<SequenceNormalizer>(std::move(steps));
  }
  if (type == "Replace") {
    if (!j.contains("content") || !j["content"].is_string()) {
      return absl::InvalidArgumentError("normalizer Replace: missing string \"content\"");
    }
    ASSIGN_OR_RETURN(auto pattern,
                     PatternFromJson(j.value("pattern", nlohmann::json()), "normalizer Replace"));
    return std::make_unique<ReplaceNormalizer>(std::move(pattern), j["content"].get<std::string>());
  }
  if (type == "Prepend") {
    if (!j.contains("prepend") || !j["prepend"].is_string()) {
      return absl::InvalidArgumentError("normalizer Prepend: missing string \"prepend\"");
    }
    return std::make_unique<PrependNormalizer>(j["prepend"].get<std::string>());
  }
  return absl::UnimplementedError(absl::StrCat("normalizer type '", type,
                                               "' is not supported (flywheel supports NFC, NFD, "
                                               "NFKC, NFKD, Replace, Prepend and Sequence)"));
}

}  // namespace flywheel::tokenizer
