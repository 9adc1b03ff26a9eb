#include "reward/conjecture.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace flywheel::reward {
namespace {

Verdict Reject(std::string_view reason, std::string_view detail) {
  Verdict v;
  v.correct = false;
  v.reason = std::string(reason) + ": " + std::string(detail);
  return v;
}

}  // namespace

std::string_view ExtractConjecture(std::string_view completion) {
  std::string_view s = completion.substr(0, completion.find_first_of("=\n\r"));
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

Verdict VerifyConjecture(std::string_view completion, const ConjectureOptions& options) {
  const std::string_view text = ExtractConjecture(completion);
  const ArithParse parsed = ParseArith(text, options.limits);
  if (parsed.error != ArithError::kOk) {
    return Reject(ArithErrorName(parsed.error), parsed.detail);
  }
  const ArithExpr& e = parsed.expr;
  if (e.ops == 0) return Reject("trivial", "a bare number is not a problem");
  const Rational::Int v = e.value.num();
  if (v > options.max_abs_value || v < -options.max_abs_value) {
    return Reject("out_of_range",
                  absl::StrCat(e.value.ToString(), " is beyond +-", options.max_abs_value));
  }
  if (v < 0 && !options.allow_negative) {
    return Reject("out_of_range", absl::StrCat(e.value.ToString(), " is negative"));
  }
  // The target is harder than a conjecture may be: parse it with the whole language.
  ArithLimits target_limits;
  target_limits.ops = "+-*/";
  target_limits.max_digits = 18;
  target_limits.max_ops = 64;
  target_limits.max_chars = 1024;
  target_limits.max_depth = 32;
  const ArithParse target = ParseArith(ExtractConjecture(options.target), target_limits);
  if (target.error == ArithError::kOk && target.expr.canonical == e.canonical) {
    return Reject("copy_of_target", e.canonical);
  }
  Verdict ok;
  ok.correct = true;
  ok.answer = e.value.ToString();
  return ok;
}

std::optional<std::string> ConjectureKey(std::string_view completion,
                                         const ConjectureOptions& options) {
  const ArithParse parsed = ParseArith(ExtractConjecture(completion), options.limits);
  if (parsed.error != ArithError::kOk) return std::nullopt;
  return parsed.expr.canonical;
}

}  // namespace flywheel::reward
