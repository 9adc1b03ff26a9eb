#include "reward/rubric.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "reward/text_util.h"

namespace flywheel::reward {
namespace {

using Kind = Criterion::Kind;

absl::StatusOr<Kind> ParseKind(std::string_view name) {
  static constexpr std::pair<std::string_view, Kind> kKinds[] = {
      {"contains", Kind::kContains},  {"regex", Kind::kRegex},
      {"min_words", Kind::kMinWords}, {"max_words", Kind::kMaxWords},
      {"max_chars", Kind::kMaxChars}, {"json_valid", Kind::kJsonValid},
      {"judge", Kind::kJudge}};
  for (const auto& [text, kind] : kKinds) {
    if (name == text) return kind;
  }
  return absl::InvalidArgumentError(Cat("unknown criterion kind \"", name,
                                        "\"; expected contains, regex, min_words, max_words, "
                                        "max_chars, json_valid or judge"));
}

absl::Status CriterionError(size_t index, std::string_view message) {
  return absl::InvalidArgumentError(Cat("rubric criterion ", index, ": ", message));
}

bool Contains(std::string_view hay, std::string_view needle, bool case_sensitive) {
  if (needle.empty()) return true;
  std::string h = case_sensitive ? std::string(hay) : AsciiLower(hay);
  std::string n = case_sensitive ? std::string(needle) : AsciiLower(needle);
  // Boyer-Moore keeps a long needle on a long response linear instead of quadratic.
  auto it = std::search(h.begin(), h.end(), std::boyer_moore_searcher(n.begin(), n.end()));
  return it != h.end();
}

std::string_view StripJsonFence(std::string_view s) {
  s = Trim(s);
  if (s.substr(0, 3) != "```") return s;
  size_t first_newline = s.find('\n');
  if (first_newline == std::string_view::npos) return s;
  std::string_view body = s.substr(first_newline + 1);
  body = Trim(body);
  if (body.size() >= 3 && body.substr(body.size() - 3) == "```") body.remove_suffix(3);
  return body;
}

}  // namespace

bool Rubric::has_judged() const {
  return std::any_of(criteria.begin(), criteria.end(),
                     [](const Criterion& c) { return c.kind == Kind::kJudge; });
}

absl::StatusOr<Rubric> ParseRubric(const nlohmann::json& json, const RubricLimits& limits) {
  if (!json.is_array()) return absl::InvalidArgumentError("rubric must be a JSON array");
  if (json.empty()) return absl::InvalidArgumentError("rubric has no criteria");
  if (json.size() > limits.max_criteria) {
    return absl::InvalidArgumentError(
        Cat("rubric has ", json.size(), " criteria, over the limit of ", limits.max_criteria));
  }
  Rubric rubric;
  for (size_t i = 0; i < json.size(); ++i) {
    const nlohmann::json& item = json[i];
    if (!item.is_object()) return CriterionError(i, "must be an object");
    Criterion c;
    for (const auto& [key, value] : item.items()) {
      if (key == "title" || key == "description" || key == "text" || key == "pattern" ||
          key == "kind") {
        if (!value.is_string()) return CriterionError(i, Cat("\"", key, "\" must be a string"));
        if (value.get_ref<const std::string&>().size() > limits.max_text_bytes) {
          return CriterionError(
              i, Cat("\"", key, "\" is longer than ", limits.max_text_bytes, " bytes"));
        }
      } else if (key == "weight") {
        if (!value.is_number()) return CriterionError(i, "\"weight\" must be a number");
      } else if (key == "limit") {
        if (!value.is_number_integer() || value.get<int64_t>() < 0) {
          return CriterionError(i, "\"limit\" must be a non-negative integer");
        }
      } else if (key == "case_sensitive") {
        if (!value.is_boolean()) return CriterionError(i, "\"case_sensitive\" must be a boolean");
      } else if (key != "category") {  // RaR's category labels are informational
        return CriterionError(i, Cat("unknown key \"", key, "\""));
      }
    }
    c.title = item.value("title", "");
    c.description = item.value("description", "");
    c.weight = item.value("weight", 1.0);
    if (!std::isfinite(c.weight) || c.weight == 0) {
      return CriterionError(i, "weight must be finite and non-zero");
    }
    auto kind = ParseKind(item.value("kind", "judge"));
    if (!kind.ok()) return CriterionError(i, std::string(kind.status().message()));
    c.kind = *kind;
    c.case_sensitive = item.value("case_sensitive", false);
    switch (c.kind) {
      case Kind::kContains:
        if (!item.contains("text")) return CriterionError(i, "contains needs \"text\"");
        c.text = item["text"].get<std::string>();
        break;
      case Kind::kRegex: {
        if (!item.contains("pattern")) return CriterionError(i, "regex needs \"pattern\"");
        auto regex =
            Regex::Compile(item["pattern"].get<std::string>(), !c.case_sensitive, limits.regex);
        if (!regex.ok()) return CriterionError(i, std::string(regex.status().message()));
        c.regex = *regex;
        break;
      }
      case Kind::kMinWords:
      case Kind::kMaxWords:
      case Kind::kMaxChars:
        if (!item.contains("limit")) return CriterionError(i, "needs \"limit\"");
        c.limit = item["limit"].get<int64_t>();
        break;
      case Kind::kJsonValid:
        break;
      case Kind::kJudge:
        if (c.description.empty() && c.title.empty()) {
          return CriterionError(i, "a judged criterion needs a description or a title");
        }
        break;
    }
    rubric.criteria.push_back(std::move(c));
  }
  return rubric;
}

absl::StatusOr<double> CheckRule(const Criterion& c, std::string_view response) {
  switch (c.kind) {
    case Kind::kContains:
      return Contains(response, c.text, c.case_sensitive) ? 1.0 : 0.0;
    case Kind::kRegex: {
      auto hit = c.regex->Search(response);
      if (!hit.ok()) return hit.status();
      return *hit ? 1.0 : 0.0;
    }
    case Kind::kMinWords:
      return static_cast<int64_t>(CountWords(response)) >= c.limit ? 1.0 : 0.0;
    case Kind::kMaxWords:
      return static_cast<int64_t>(CountWords(response)) <= c.limit ? 1.0 : 0.0;
    case Kind::kMaxChars:
      return static_cast<int64_t>(CountCodePoints(response)) <= c.limit ? 1.0 : 0.0;
    case Kind::kJsonValid:
      // accept() parses without building a document and without recursion, so deep nesting is
      // safe.
      return nlohmann::json::accept(StripJsonFence(response)) ? 1.0 : 0.0;
    case Kind::kJudge:
      break;
  }
  return absl::InvalidArgumentError(Cat("criterion \"", c.title, "\" is judged, not rule-checked"));
}

absl::StatusOr<double> AggregateRubric(const Rubric& rubric, const std::vector<double>& satisfied) {
  if (satisfied.size() != rubric.criteria.size()) {
    return absl::InvalidArgumentError(
        Cat("rubric has ", rubric.criteria.size(), " criteria but ", satisfied.size(), " scores"));
  }
  double positive = 0, absolute = 0, sum = 0;
  for (size_t j = 0; j < satisfied.size(); ++j) {
    double c = satisfied[j];
    double w = rubric.criteria[j].weight;
    if (!(c >= 0.0 && c <= 1.0)) {  // also rejects NaN
      return absl::InvalidArgumentError(Cat("criterion ", j, " score ", c, " is outside [0, 1]"));
    }
    if (w > 0) positive += w;
    absolute += std::fabs(w);
    sum += w * c;
  }
  if (absolute == 0) return absl::InvalidArgumentError("rubric has no weight");
  double r = positive > 0 ? sum / positive : 1.0 + sum / absolute;
  return std::clamp(r, 0.0, 1.0);
}

}  // namespace flywheel::reward
