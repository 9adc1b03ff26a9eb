#include "reward/regex.h"

#include "reward/text_util.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace flywheel::reward {
namespace {

std::string Pcre2Message(int code) {
  PCRE2_UCHAR buffer[256];
  int n = pcre2_get_error_message(code, buffer, sizeof(buffer));
  if (n < 0) return Cat("PCRE2 error ", code);
  return std::string(reinterpret_cast<const char*>(buffer), static_cast<size_t>(n));
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Regex>> Regex::Compile(std::string_view pattern,
                                                            bool case_insensitive,
                                                            const RegexLimits& limits) {
  if (pattern.size() > limits.max_pattern_bytes) {
    return absl::InvalidArgumentError(
        Cat("regex is ", pattern.size(), " bytes, over the limit of ", limits.max_pattern_bytes));
  }
  uint32_t options = PCRE2_UTF | PCRE2_UCP;
  if (case_insensitive) options |= PCRE2_CASELESS;
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   options, &error_code, &error_offset, nullptr);
  if (code == nullptr) {
    return absl::InvalidArgumentError(Cat("invalid regex \"", pattern, "\" at offset ",
                                          error_offset, ": ", Pcre2Message(error_code)));
  }
  std::shared_ptr<Regex> regex(new Regex());
  regex->pattern_ = std::string(pattern);
  regex->limits_ = limits;
  regex->code_ = code;
  return std::shared_ptr<const Regex>(std::move(regex));
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

absl::StatusOr<bool> Regex::Match(std::string_view subject, uint32_t options) const {
  auto* code = static_cast<pcre2_code*>(code_);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  pcre2_match_data* data = pcre2_match_data_create_from_pattern(code, nullptr);
  if (context == nullptr || data == nullptr) {
    pcre2_match_context_free(context);
    pcre2_match_data_free(data);
    return absl::ResourceExhaustedError("out of memory creating a PCRE2 match");
  }
  pcre2_set_match_limit(context, limits_.match_limit);
  pcre2_set_depth_limit(context, limits_.depth_limit);
  pcre2_set_heap_limit(context, limits_.heap_limit_kib);
  int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0,
                       options, data, context);
  pcre2_match_data_free(data);
  pcre2_match_context_free(context);
  if (rc >= 0) return true;
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT) {
    return absl::ResourceExhaustedError(Cat("regex \"", pattern_, "\" exceeded its match limit (",
                                            Pcre2Message(rc),
                                            "); the pattern probably backtracks catastrophically"));
  }
  if (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21) {
    return absl::InvalidArgumentError(Cat("regex subject is not valid UTF-8: ", Pcre2Message(rc)));
  }
  return absl::InternalError(Cat("regex match failed: ", Pcre2Message(rc)));
}

absl::StatusOr<bool> Regex::Search(std::string_view subject) const { return Match(subject, 0); }

absl::StatusOr<bool> Regex::FullMatch(std::string_view subject) const {
  return Match(subject, PCRE2_ANCHORED | PCRE2_ENDANCHORED);
}

}  // namespace flywheel::reward
