#include "reward/task_spec.h"

#include <cmath>
#include <initializer_list>

#include "common/base/status_macros.h"
#include "reward/text_util.h"

namespace flywheel::reward {
namespace {

using json = nlohmann::json;

absl::Status FieldError(std::string_view field, std::string_view message) {
  return absl::InvalidArgumentError(Cat("task spec: \"", field, "\" ", message));
}

std::string Join(std::string_view where, std::string_view key) {
  return where.empty() ? std::string(key) : Cat(where, ".", key);
}

absl::Status CheckKeys(const json& object, std::string_view where,
                       std::initializer_list<std::string_view> allowed) {
  if (!object.is_object()) return FieldError(where, "must be an object");
  for (const auto& [key, value] : object.items()) {
    bool known = false;
    for (std::string_view a : allowed) known |= key == a;
    if (!known) {
      std::string list;
      for (std::string_view a : allowed) list += Cat(list.empty() ? "" : ", ", a);
      return FieldError(Join(where, key),
                        Cat("is not a known field (expected one of: ", list, ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status GetBool(const json& object, std::string_view where, const char* key, bool* out) {
  if (!object.contains(key)) return absl::OkStatus();
  if (!object[key].is_boolean()) return FieldError(Join(where, key), "must be true or false");
  *out = object[key].get<bool>();
  return absl::OkStatus();
}

absl::Status GetNumber(const json& object, std::string_view where, const char* key, double* out) {
  if (!object.contains(key)) return absl::OkStatus();
  if (!object[key].is_number()) return FieldError(Join(where, key), "must be a number");
  *out = object[key].get<double>();
  if (!std::isfinite(*out)) return FieldError(Join(where, key), "must be finite");
  return absl::OkStatus();
}

absl::Status GetInt(const json& object, std::string_view where, const char* key, int64_t* out) {
  if (!object.contains(key)) return absl::OkStatus();
  if (!object[key].is_number_integer()) return FieldError(Join(where, key), "must be an integer");
  *out = object[key].get<int64_t>();
  return absl::OkStatus();
}

absl::Status GetString(const json& object, std::string_view where, const char* key,
                       std::string* out) {
  if (!object.contains(key)) return absl::OkStatus();
  if (!object[key].is_string()) return FieldError(Join(where, key), "must be a string");
  *out = object[key].get<std::string>();
  return absl::OkStatus();
}

absl::Status ParseMath(const json& j, MathVerifyOptions* math) {
  RETURN_IF_ERROR(CheckKeys(j, "math",
                            {"extract", "rel_tol", "thousands_separators", "strip_units",
                             "percent_flexible", "answer_after_think"}));
  if (j.contains("extract")) {
    const json& list = j["extract"];
    if (!list.is_array() || list.empty()) {
      return FieldError("math.extract", "must be a non-empty list of marker kinds");
    }
    ExtractOptions& e = math->extract;
    e.boxed = e.hashes = e.answer_phrase = e.last_number = false;
    for (const json& kind : list) {
      std::string k = kind.is_string() ? kind.get<std::string>() : "";
      if (k == "boxed") {
        e.boxed = true;
      } else if (k == "hashes") {
        e.hashes = true;
      } else if (k == "answer_phrase") {
        e.answer_phrase = true;
      } else if (k == "last_number") {
        e.last_number = true;
      } else {
        return FieldError("math.extract",
                          Cat("has unknown kind \"", kind.dump(),
                              "\"; expected boxed, hashes, answer_phrase or last_number"));
      }
    }
  }
  RETURN_IF_ERROR(GetNumber(j, "math", "rel_tol", &math->compare.rel_tol));
  if (math->compare.rel_tol < 0 || math->compare.rel_tol >= 1) {
    return FieldError("math.rel_tol", "must be in [0, 1)");
  }
  RETURN_IF_ERROR(
      GetBool(j, "math", "thousands_separators", &math->compare.normalize.thousands_separators));
  RETURN_IF_ERROR(GetBool(j, "math", "strip_units", &math->compare.normalize.strip_units));
  RETURN_IF_ERROR(GetBool(j, "math", "percent_flexible", &math->compare.percent_flexible));
  RETURN_IF_ERROR(GetBool(j, "math", "answer_after_think", &math->answer_after_think));
  return absl::OkStatus();
}

absl::Status ParseText(const json& j, TextVerifyOptions* text) {
  RETURN_IF_ERROR(
      CheckKeys(j, "text",
                {"case_sensitive", "collapse_whitespace", "strip_punctuation", "strip_articles",
                 "unwrap_latex", "use_markers", "answer_after_think"}));
  TextNormalizeOptions& n = text->normalize;
  RETURN_IF_ERROR(GetBool(j, "text", "case_sensitive", &n.case_sensitive));
  RETURN_IF_ERROR(GetBool(j, "text", "collapse_whitespace", &n.collapse_whitespace));
  RETURN_IF_ERROR(GetBool(j, "text", "strip_punctuation", &n.strip_punctuation));
  RETURN_IF_ERROR(GetBool(j, "text", "strip_articles", &n.strip_articles));
  RETURN_IF_ERROR(GetBool(j, "text", "unwrap_latex", &n.unwrap_latex));
  RETURN_IF_ERROR(GetBool(j, "text", "use_markers", &text->use_markers));
  RETURN_IF_ERROR(GetBool(j, "text", "answer_after_think", &text->answer_after_think));
  return absl::OkStatus();
}

absl::Status ParseFormat(const json& j, FormatOptions* format) {
  RETURN_IF_ERROR(CheckKeys(j, "format", {"think", "think_open_in_prompt", "answer"}));
  RETURN_IF_ERROR(GetBool(j, "format", "think", &format->require_think));
  RETURN_IF_ERROR(GetBool(j, "format", "think_open_in_prompt", &format->think_open_in_prompt));
  std::string answer = "any";
  RETURN_IF_ERROR(GetString(j, "format", "answer", &answer));
  if (answer == "any") {
    format->answer = FormatOptions::Answer::kAny;
  } else if (answer == "boxed") {
    format->answer = FormatOptions::Answer::kBoxed;
  } else if (answer == "tag") {
    format->answer = FormatOptions::Answer::kTag;
  } else {
    return FieldError("format.answer", Cat("is \"", answer, "\"; expected any, boxed or tag"));
  }
  return absl::OkStatus();
}

absl::Status ParseOverlong(const json& j, OverlongOptions* o) {
  RETURN_IF_ERROR(CheckKeys(j, "overlong", {"max_len", "cache_len", "penalty_factor", "unit"}));
  if (!j.contains("max_len") || !j.contains("cache_len")) {
    return FieldError("overlong", "needs max_len and cache_len");
  }
  RETURN_IF_ERROR(GetInt(j, "overlong", "max_len", &o->max_len));
  RETURN_IF_ERROR(GetInt(j, "overlong", "cache_len", &o->cache_len));
  RETURN_IF_ERROR(GetNumber(j, "overlong", "penalty_factor", &o->penalty_factor));
  std::string unit = "tokens";
  RETURN_IF_ERROR(GetString(j, "overlong", "unit", &unit));
  if (unit == "tokens") {
    o->unit = OverlongOptions::Unit::kTokens;
  } else if (unit == "chars") {
    o->unit = OverlongOptions::Unit::kChars;
  } else {
    return FieldError("overlong.unit", Cat("is \"", unit, "\"; expected tokens or chars"));
  }
  return ValidateOverlong(*o);
}

absl::StatusOr<std::vector<std::string>> ParseGold(const json& j, const InputLimits& limits) {
  std::vector<std::string> gold;
  if (j.is_string()) {
    gold.push_back(j.get<std::string>());
  } else if (j.is_array() && !j.empty()) {
    for (const json& g : j) {
      if (!g.is_string()) return FieldError("gold", "must be a string or a list of strings");
      gold.push_back(g.get<std::string>());
    }
  } else {
    return FieldError("gold", "must be a string or a non-empty list of strings");
  }
  for (const std::string& g : gold) {
    RETURN_IF_ERROR(CheckText(g, limits.max_completion_bytes, limits, "gold"));
  }
  return gold;
}

absl::Status ParseConjecture(const json& j, ConjectureOptions* c) {
  RETURN_IF_ERROR(CheckKeys(j, "conjecture",
                            {"target", "ops", "max_digits", "max_ops", "max_chars", "max_abs_value",
                             "allow_negative", "batch"}));
  if (!j.contains("target") || !j["target"].is_string()) {
    return FieldError("conjecture.target", "is missing; the gate compares a conjecture with it");
  }
  RETURN_IF_ERROR(GetString(j, "conjecture", "target", &c->target));
  RETURN_IF_ERROR(GetString(j, "conjecture", "ops", &c->limits.ops));
  RETURN_IF_ERROR(GetString(j, "conjecture", "batch", &c->batch));
  RETURN_IF_ERROR(GetBool(j, "conjecture", "allow_negative", &c->allow_negative));
  int64_t digits = c->limits.max_digits, ops = c->limits.max_ops;
  int64_t chars = static_cast<int64_t>(c->limits.max_chars);
  RETURN_IF_ERROR(GetInt(j, "conjecture", "max_digits", &digits));
  RETURN_IF_ERROR(GetInt(j, "conjecture", "max_ops", &ops));
  RETURN_IF_ERROR(GetInt(j, "conjecture", "max_chars", &chars));
  RETURN_IF_ERROR(GetInt(j, "conjecture", "max_abs_value", &c->max_abs_value));
  if (c->limits.ops.empty() || c->limits.ops.find_first_not_of("+-*/") != std::string::npos) {
    return FieldError("conjecture.ops", "must be a non-empty subset of \"+-*/\"");
  }
  // 18 digits keep every literal inside 64 bits and products inside the 128-bit evaluator.
  if (digits < 1 || digits > 18) return FieldError("conjecture.max_digits", "must be in 1..18");
  if (ops < 1 || ops > 64) return FieldError("conjecture.max_ops", "must be in 1..64");
  if (chars < 1 || chars > 4096) return FieldError("conjecture.max_chars", "must be in 1..4096");
  if (c->max_abs_value < 0) return FieldError("conjecture.max_abs_value", "must be >= 0");
  c->limits.max_digits = static_cast<int>(digits);
  c->limits.max_ops = static_cast<int>(ops);
  c->limits.max_chars = static_cast<size_t>(chars);
  return absl::OkStatus();
}

}  // namespace

std::string_view VerifierName(VerifierKind kind) {
  switch (kind) {
    case VerifierKind::kMath:
      return "math";
    case VerifierKind::kExact:
      return "exact";
    case VerifierKind::kRegex:
      return "regex";
    case VerifierKind::kChoice:
      return "choice";
    case VerifierKind::kRubric:
      return "rubric";
    case VerifierKind::kConjecture:
      return "conjecture";
  }
  return "unknown";
}

std::vector<std::string_view> VerifierNames() {
  return {"math", "exact", "regex", "choice", "rubric", "conjecture"};
}

absl::StatusOr<TaskSpec> ParseTaskSpec(const json& j, const TaskSpecLimits& limits) {
  RETURN_IF_ERROR(
      CheckKeys(j, "",
                {"verifier", "gold", "math", "text", "regex", "choice", "rubric", "conjecture",
                 "format", "overlong", "incorrect_reward", "weights", "metadata"}));
  TaskSpec spec;
  if (!j.contains("verifier") || !j["verifier"].is_string()) {
    return FieldError("verifier",
                      "is missing; expected one of math, exact, regex, choice, rubric, conjecture");
  }
  const std::string name = j["verifier"].get<std::string>();
  bool found = false;
  for (VerifierKind k : {VerifierKind::kMath, VerifierKind::kExact, VerifierKind::kRegex,
                         VerifierKind::kChoice, VerifierKind::kRubric, VerifierKind::kConjecture}) {
    if (name == VerifierName(k)) {
      spec.verifier = k;
      found = true;
    }
  }
  if (!found) {
    return FieldError("verifier", Cat("is \"", name,
                                      "\", an unknown verifier; expected one of math, exact, "
                                      "regex, choice, rubric, conjecture"));
  }
  // Each verifier's own options object is accepted only with that verifier: a "math" block on an
  // exact task is a mistake worth reporting.
  auto only_with = [&](const char* key, std::initializer_list<VerifierKind> kinds) -> absl::Status {
    if (!j.contains(key)) return absl::OkStatus();
    for (VerifierKind k : kinds) {
      if (spec.verifier == k) return absl::OkStatus();
    }
    return FieldError(key, Cat("does not apply to the ", name, " verifier"));
  };
  RETURN_IF_ERROR(only_with("math", {VerifierKind::kMath}));
  RETURN_IF_ERROR(
      only_with("text", {VerifierKind::kExact, VerifierKind::kRegex, VerifierKind::kChoice}));
  RETURN_IF_ERROR(only_with("regex", {VerifierKind::kRegex}));
  RETURN_IF_ERROR(only_with("choice", {VerifierKind::kChoice}));
  RETURN_IF_ERROR(only_with("rubric", {VerifierKind::kRubric}));
  RETURN_IF_ERROR(only_with("conjecture", {VerifierKind::kConjecture}));
  spec.math.max_answer_bytes = limits.input.max_answer_bytes;
  spec.math.extract.max_brace_depth = limits.input.max_brace_depth;
  spec.text.extract.max_brace_depth = limits.input.max_brace_depth;
  if (j.contains("math")) RETURN_IF_ERROR(ParseMath(j["math"], &spec.math));
  if (j.contains("text")) RETURN_IF_ERROR(ParseText(j["text"], &spec.text));

  const bool needs_gold = spec.verifier == VerifierKind::kMath ||
                          spec.verifier == VerifierKind::kExact ||
                          spec.verifier == VerifierKind::kChoice;
  if (needs_gold && !j.contains("gold")) {
    return FieldError("gold", Cat("is missing; the ", name, " verifier needs a gold answer"));
  }
  if (!needs_gold && j.contains("gold") &&
      (spec.verifier == VerifierKind::kRubric || spec.verifier == VerifierKind::kConjecture)) {
    return FieldError("gold", Cat("does not apply to the ", name, " verifier"));
  }
  std::vector<std::string> gold;
  if (j.contains("gold")) {
    ASSIGN_OR_RETURN(gold, ParseGold(j["gold"], limits.input));
  }

  switch (spec.verifier) {
    case VerifierKind::kMath: {
      if (gold.size() != 1) return FieldError("gold", "must be one answer for the math verifier");
      ASSIGN_OR_RETURN(std::string prepared, PrepareMathGold(gold[0], spec.math));
      spec.gold = {std::move(prepared)};
      break;
    }
    case VerifierKind::kExact:
      for (const std::string& g : gold) {
        if (NormalizeText(g, spec.text.normalize).empty()) {
          return FieldError("gold", Cat("\"", g, "\" is empty after normalisation"));
        }
      }
      spec.gold = std::move(gold);
      break;
    case VerifierKind::kRegex: {
      std::string pattern;
      bool case_sensitive = true;
      if (j.contains("regex")) {
        RETURN_IF_ERROR(
            CheckKeys(j["regex"], "regex", {"pattern", "full_match", "case_sensitive"}));
        RETURN_IF_ERROR(GetString(j["regex"], "regex", "pattern", &pattern));
        RETURN_IF_ERROR(GetBool(j["regex"], "regex", "full_match", &spec.regex_full_match));
        RETURN_IF_ERROR(GetBool(j["regex"], "regex", "case_sensitive", &case_sensitive));
      }
      if (pattern.empty() && gold.size() == 1) pattern = gold[0];
      if (pattern.empty()) return FieldError("regex.pattern", "is missing (or give it as gold)");
      auto regex = Regex::Compile(pattern, !case_sensitive, limits.rubric.regex);
      if (!regex.ok()) return FieldError("regex.pattern", std::string(regex.status().message()));
      spec.regex = *regex;
      break;
    }
    case VerifierKind::kChoice: {
      if (j.contains("choice")) {
        RETURN_IF_ERROR(CheckKeys(j["choice"], "choice", {"letters"}));
        RETURN_IF_ERROR(GetString(j["choice"], "choice", "letters", &spec.choice_letters));
      }
      if (spec.choice_letters.empty() || spec.choice_letters.size() > 26) {
        return FieldError("choice.letters", "must hold 1 to 26 letters");
      }
      for (size_t i = 0; i < spec.choice_letters.size(); ++i) {
        char c = spec.choice_letters[i];
        if (c < 'A' || c > 'Z' || spec.choice_letters.find(c) != i) {
          return FieldError("choice.letters", "must be distinct upper-case letters A-Z");
        }
      }
      std::string g = gold.size() == 1 ? std::string(Trim(gold[0])) : "";
      if (g.size() == 3 && g[0] == '(' && g[2] == ')') g = g.substr(1, 1);
      if (g.size() == 1 && g[0] >= 'a' && g[0] <= 'z') g[0] = static_cast<char>(g[0] - 'a' + 'A');
      if (g.size() != 1 || spec.choice_letters.find(g[0]) == std::string::npos) {
        return FieldError("gold", Cat("must be one of the letters ", spec.choice_letters));
      }
      spec.gold = {g};
      break;
    }
    case VerifierKind::kRubric: {
      if (!j.contains("rubric")) return FieldError("rubric", "is missing");
      auto rubric = ParseRubric(j["rubric"], limits.rubric);
      if (!rubric.ok()) return FieldError("rubric", std::string(rubric.status().message()));
      spec.rubric = std::move(*rubric);
      break;
    }
    case VerifierKind::kConjecture:
      if (!j.contains("conjecture")) return FieldError("conjecture", "is missing");
      RETURN_IF_ERROR(ParseConjecture(j["conjecture"], &spec.conjecture));
      break;
  }

  if (j.contains("format")) {
    spec.format.emplace();
    RETURN_IF_ERROR(ParseFormat(j["format"], &*spec.format));
  }
  if (j.contains("overlong")) {
    spec.overlong.emplace();
    RETURN_IF_ERROR(ParseOverlong(j["overlong"], &*spec.overlong));
  }
  if (j.contains("incorrect_reward")) {
    RETURN_IF_ERROR(GetNumber(j, "", "incorrect_reward", &spec.incorrect_reward));
    if (spec.verifier == VerifierKind::kRubric) {
      return FieldError("incorrect_reward", "does not apply to the rubric verifier");
    }
  }
  if (j.contains("weights")) {
    const json& w = j["weights"];
    RETURN_IF_ERROR(CheckKeys(w, "weights", {"correct", "rubric", "format", "overlong"}));
    std::string_view own = spec.verifier_term();
    for (const char* other : {"correct", "rubric"}) {
      if (w.contains(other) && own != other) {
        return FieldError(Cat("weights.", other), Cat("names no term of the ", name, " verifier"));
      }
    }
    if (w.contains("format") && !spec.format) {
      return FieldError("weights.format", "is set but there is no \"format\" block");
    }
    if (w.contains("overlong") && !spec.overlong) {
      return FieldError("weights.overlong", "is set but there is no \"overlong\" block");
    }
    RETURN_IF_ERROR(GetNumber(w, "weights", std::string(own).c_str(), &spec.correct_weight));
    RETURN_IF_ERROR(GetNumber(w, "weights", "format", &spec.format_weight));
    RETURN_IF_ERROR(GetNumber(w, "weights", "overlong", &spec.overlong_weight));
  }
  return spec;
}

absl::StatusOr<TaskSpec> ParseTaskSpecText(std::string_view text, const TaskSpecLimits& limits) {
  if (text.size() > limits.max_spec_bytes) {
    return absl::InvalidArgumentError(
        Cat("task spec is ", text.size(), " bytes, over the limit of ", limits.max_spec_bytes));
  }
  RETURN_IF_ERROR(ValidateUtf8(text, "task spec"));
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError("task spec is not valid JSON");
  return ParseTaskSpec(j, limits);
}

}  // namespace flywheel::reward
