// Pre-tokenizer implementations and their JSON factory.
#include "common/tokenizer/pre_tokenizer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/base/status_macros.h"
#include "common/tokenizer/normalizer.h"
#include "common/tokenizer/utf8.h"
#include "nlohmann/json.hpp"

namespace flywheel::tokenizer {
namespace {

struct Span {
  size_t begin, end;
  bool is_match;
};

// Applies a delimiter behaviour to the alternating match / non-match spans of one piece, with
// the same merging rules as Hugging Face's NormalizedString::split.
void ApplyBehavior(SplitBehavior behavior, const std::vector<Span>& spans,
                   std::vector<std::pair<size_t, size_t>>* out) {
  out->clear();
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kRemoved:
      for (const Span& s : spans) {
        if (!s.is_match) out->emplace_back(s.begin, s.end);
      }
      return;
    case SplitBehavior::kIsolated:
      for (const Span& s : spans) out->emplace_back(s.begin, s.end);
      return;
    case SplitBehavior::kMergedWithPrevious:
      for (const Span& s : spans) {
        if (s.is_match && !previous_match && !out->empty()) {
          out->back().second = s.end;
        } else {
          out->emplace_back(s.begin, s.end);
        }
        previous_match = s.is_match;
      }
      return;
    case SplitBehavior::kMergedWithNext:
      for (size_t i = spans.size(); i-- > 0;) {
        const Span& s = spans[i];
        if (s.is_match && !previous_match && !out->empty()) {
          out->back().first = s.begin;
        } else {
          out->emplace_back(s.begin, s.end);
        }
        previous_match = s.is_match;
      }
      std::reverse(out->begin(), out->end());
      return;
    case SplitBehavior::kContiguous:
      for (const Span& s : spans) {
        if (s.is_match && previous_match && !out->empty()) {
          out->back().second = s.end;
        } else {
          out->emplace_back(s.begin, s.end);
        }
        previous_match = s.is_match;
      }
      return;
  }
}

// Splits every piece at the regex's matches, keeping both matches and gaps (Isolated).
absl::Status SplitIsolated(const Regex& regex, PreTokenized* pt) {
  std::vector<std::string_view> out;
  out.reserve(pt->pieces.size() * 2);
  for (std::string_view piece : pt->pieces) {
    size_t last = 0;
    RETURN_IF_ERROR(regex.ForEachMatch(piece, [&](size_t b, size_t e) {
      if (b > last) out.push_back(piece.substr(last, b - last));
      out.push_back(piece.substr(b, e - b));
      last = e;
    }));
    if (last < piece.size()) out.push_back(piece.substr(last));
  }
  pt->pieces.swap(out);
  return absl::OkStatus();
}

absl::StatusOr<SplitBehavior> ParseBehavior(const nlohmann::json& j) {
  if (!j.is_string()) return absl::InvalidArgumentError("Split: \"behavior\" must be a string");
  const std::string b = j.get<std::string>();
  if (b == "Removed") return SplitBehavior::kRemoved;
  if (b == "Isolated") return SplitBehavior::kIsolated;
  if (b == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (b == "Contiguous") return SplitBehavior::kContiguous;
  return absl::InvalidArgumentError(absl::StrCat("Split: unknown behavior '", b, "'"));
}

bool BoolOr(const nlohmann::json& j, const char* key, bool fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

}  // namespace

absl::Status SplitPreTokenizer::Split(PreTokenized* pt) const {
  if (behavior_ == SplitBehavior::kIsolated && !invert_) return SplitIsolated(*regex_, pt);
  std::vector<std::string_view> out;
  std::vector<Span> spans;
  std::vector<std::pair<size_t, size_t>> ranges;
  for (std::string_view piece : pt->pieces) {
    spans.clear();
    size_t last = 0;
    RETURN_IF_ERROR(regex_->ForEachMatch(piece, [&](size_t b, size_t e) {
      if (b > last) spans.push_back({last, b, invert_});
      spans.push_back({b, e, !invert_});
      last = e;
    }));
    if (last < piece.size()) spans.push_back({last, piece.size(), invert_});
    ApplyBehavior(behavior_, spans, &ranges);
    for (auto [b, e] : ranges) {
      if (e > b) out.push_back(piece.substr(b, e - b));
    }
  }
  pt->pieces.swap(out);
  return absl::OkStatus();
}

absl::Status ByteLevelPreTokenizer::Split(PreTokenized* pt) const {
  if (add_prefix_space_) {
    for (std::string_view& piece : pt->pieces) {
      if (!piece.empty() && piece[0] != ' ') {
        pt->arena.push_back(absl::StrCat(" ", AbslView(piece)));
        piece = pt->arena.back();
      }
    }
  }
  if (regex_ == nullptr) return absl::OkStatus();
  return SplitIsolated(*regex_, pt);
}

absl::Status MetaspacePreTokenizer::Split(PreTokenized* pt) const {
  std::vector<std::string_view> out;
  for (size_t i = 0; i < pt->pieces.size(); ++i) {
    std::string piece = absl::StrReplaceAll(AbslView(pt->pieces[i]), {{" ", replacement_}});
    const bool first = pt->at_text_start && i == 0;
    if ((prepend_ == PrependScheme::kAlways || (prepend_ == PrependScheme::kFirst && first)) &&
        piece.compare(0, replacement_.size(), replacement_) != 0) {
      piece.insert(0, replacement_);
    }
    pt->arena.push_back(std::move(piece));
    std::string_view p = pt->arena.back();
    if (!split_) {
      if (!p.empty()) out.push_back(p);
      continue;
    }
    // MergedWithNext: each marker starts a new piece.
    size_t begin = 0;
    for (size_t at = p.find(replacement_, 1); at != std::string_view::npos;
         at = p.find(replacement_, at + replacement_.size())) {
      if (at > begin) out.push_back(p.substr(begin, at - begin));
      begin = at;
    }
    if (begin < p.size()) out.push_back(p.substr(begin));
  }
  pt->pieces.swap(out);
  return absl::OkStatus();
}

absl::Status SequencePreTokenizer::Split(PreTokenized* pt) const {
  for (const auto& step : steps_) RETURN_IF_ERROR(step->Split(pt));
  return absl::OkStatus();
}

absl::StatusOr<PreTokenizerSpec> PreTokenizerFromJson(const nlohmann::json& j) {
  PreTokenizerSpec spec;
  if (j.is_null()) return spec;
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    return absl::InvalidArgumentError("pre_tokenizer: expected an object with a string \"type\"");
  }
  const std::string type = j["type"].get<std::string>();
  if (type == "Split") {
    ASSIGN_OR_RETURN(std::unique_ptr<Regex> regex,
                     PatternFromJson(j.value("pattern", nlohmann::json()), "Split"));
    if (!j.contains("behavior")) return absl::InvalidArgumentError("Split: missing \"behavior\"");
    ASSIGN_OR_RETURN(SplitBehavior behavior, ParseBehavior(j["behavior"]));
    spec.pre_tokenizer =
        std::make_unique<SplitPreTokenizer>(std::move(regex), behavior, BoolOr(j, "invert", false));
    return spec;
  }
  if (type == "ByteLevel") {
    std::unique_ptr<Regex> regex;
    if (BoolOr(j, "use_regex", true)) {
      ASSIGN_OR_RETURN(regex, Regex::Compile(kGpt2SplitPattern));
    }
    spec.pre_tokenizer = std::make_unique<ByteLevelPreTokenizer>(
        BoolOr(j, "add_prefix_space", true), std::move(regex));
    spec.byte_level = true;
    return spec;
  }
  if (type == "Metaspace") {
    const auto& replacement = j.value("replacement", nlohmann::json("\u2581"));
    if (!replacement.is_string() || replacement.get_ref<const std::string&>().empty()) {
      return absl::InvalidArgumentError("Metaspace: \"replacement\" must be a non-empty string");
    }
    // Newer files say prepend_scheme; older ones add_prefix_space (true meant "always").
    PrependScheme prepend =
        BoolOr(j, "add_prefix_space", true) ? PrependScheme::kAlways : PrependScheme::kNever;
    if (auto scheme = j.find("prepend_scheme"); scheme != j.end() && scheme->is_string()) {
      const std::string s = scheme->get<std::string>();
      if (s == "always") {
        prepend = PrependScheme::kAlways;
      } else if (s == "first") {
        prepend = PrependScheme::kFirst;
      } else if (s == "never") {
        prepend = PrependScheme::kNever;
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("Metaspace: unknown prepend_scheme '", s, "'"));
      }
    }
    spec.pre_tokenizer = std::make_unique<MetaspacePreTokenizer>(replacement.get<std::string>(),
                                                                 prepend, BoolOr(j, "split", true));
    return spec;
  }
  if (type == "Digits") {
    // Rust's char::is_numeric is the N category; runs of it stay together unless individual.
    bool individual = BoolOr(j, "individual_digits", false);
    ASSIGN_OR_RETURN(auto regex, Regex::Compile(individual ? "\\p{N}" : "\\p{N}+"));
    spec.pre_tokenizer =
        std::make_unique<SplitPreTokenizer>(std::move(regex), SplitBehavior::kIsolated, false);
    return spec;
  }
  if (type == "Sequence") {
    if (!j.contains("pretokenizers") || !j["pretokenizers"].is_array()) {
      return absl::InvalidArgumentError("pre_tokenizer Sequence: missing \"pretokenizers\" array");
    }
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (const auto& step : j["pretokenizers"]) {
      if (spec.byte_level) {
        return absl::UnimplementedError(
            "pre_tokenizer Sequence: a ByteLevel step must be the last one");
      }
      ASSIGN_OR_RETURN(PreTokenizerSpec sub, PreTokenizerFromJson(step));
      if (sub.pre_tokenizer) steps.push_back(std::move(sub.pre_tokenizer));
      spec.byte_level = sub.byte_level;
    }
    spec.pre_tokenizer = std::make_unique<SequencePreTokenizer>(std::move(steps));
    return spec;
  }
  return absl::UnimplementedError(
      absl::StrCat("pre_tokenizer type '", type,
                   "' is not supported (flywheel supports Split, ByteLevel, Metaspace, Digits and "
                   "Sequence)"));
}

}  // namespace flywheel::tokenizer
