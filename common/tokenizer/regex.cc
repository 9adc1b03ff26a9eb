// PCRE2 wrapper: compile once with JIT, match with a per-call match block.
#include "common/tokenizer/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "absl/strings/str_cat.h"
#include "common/tokenizer/utf8.h"

namespace flywheel::tokenizer {
namespace {

pcre2_code* Code(void* p) { return static_cast<pcre2_code*>(p); }

std::string PcreMessage(int code) {
  PCRE2_UCHAR buf[256];
  int n = pcre2_get_error_message(code, buf, sizeof(buf));
  return n < 0 ? absl::StrCat("PCRE2 error ", code) : std::string(reinterpret_cast<char*>(buf));
}

struct MatchData {
  explicit MatchData(const pcre2_code* code)
      : data(pcre2_match_data_create_from_pattern(code, nullptr)) {}
  ~MatchData() {
    pcre2_match_data_free(data);
    if (context) pcre2_match_context_free(context);
    if (jit_stack) pcre2_jit_stack_free(jit_stack);
  }
  // The JIT's default 32 KiB stack suffices for tokenizer patterns on ordinary text; a
  // pathological input gets one retry with a larger stack before it is reported.
  void GrowJitStack() {
    jit_stack = pcre2_jit_stack_create(32 * 1024, 16 * 1024 * 1024, nullptr);
    context = pcre2_match_context_create(nullptr);
    pcre2_jit_stack_assign(context, nullptr, jit_stack);
  }
  pcre2_match_data* data;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;
};

}  // namespace

std::string RewriteWhitespaceClasses(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 16);
  bool in_class = false;
  size_t class_start = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      char e = p[i + 1];
      ++i;
      if (e == 's') {
        out += in_class ? "\\s\\x{85}" : "[\\s\\x{85}]";
      } else if (e == 'S' && !in_class) {
        out += "[^\\s\\x{85}]";
      } else {
        out += c;
        out += e;
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      class_start = out.size();
    } else if (in_class && c == '[' && i + 1 < p.size() && p[i + 1] == ':') {
      size_t close = p.find(":]", i + 2);  // POSIX class such as [:alpha:]
      if (close != std::string_view::npos) {
        out.append(p.substr(i, close + 2 - i));
        i = close + 1;
        continue;
      }
    } else if (in_class && c == ']') {
      // A ']' first in the class ("[]" or "[^]") is a literal, not the end.
      size_t body = out.size() - class_start - 1;
      bool first = body == 0 || (body == 1 && out[class_start + 1] == '^');
      if (!first) in_class = false;
    }
    out += c;
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Regex>> Regex::Compile(std::string_view pattern, bool literal) {
  std::unique_ptr<Regex> re(new Regex());
  re->compiled_pattern_ = literal ? std::string(pattern) : RewriteWhitespaceClasses(pattern);
  // PCRE2 refuses UCP together with LITERAL; a literal needs no character classes anyway.
  uint32_t options = PCRE2_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP);
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(re->compiled_pattern_.data()),
                                   re->compiled_pattern_.size(), options, &error, &offset, nullptr);
  if (code == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("cannot compile regex '", AbslView(pattern),
                                                   "' at offset ", offset, ": ",
                                                   PcreMessage(error)));
  }
  re->code_ = code;
  // JIT is an optimisation only: when it is unavailable pcre2_match interprets the pattern.
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  return re;
}

Regex::~Regex() { pcre2_code_free(Code(code_)); }

absl::Status Regex::ForEachMatch(std::string_view text,
                                 absl::FunctionRef<void(size_t, size_t)> fn) const {
  MatchData md(Code(code_));
  if (md.data == nullptr) return absl::ResourceExhaustedError("PCRE2: out of memory");
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  while (pos < text.size()) {
    // The text was validated once by the caller, so PCRE2 need not re-check it per call.
    int rc = pcre2_match(Code(code_), subject, text.size(), pos, PCRE2_NO_UTF_CHECK, md.data,
                         md.context);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT && md.jit_stack == nullptr) {
      md.GrowJitStack();
      continue;
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      return absl::ResourceExhaustedError(
          absl::StrCat("regex match failed at byte ", pos, ": ", PcreMessage(rc)));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.data);
    size_t begin = ov[0], end = ov[1];
    if (end > begin) {
      fn(begin, end);
      pos = end;
    } else {
      // Empty match: step over one whole code point so the search cannot stall.
      pos = begin + 1;
      while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
    }
  }
  return absl::OkStatus();
}

}  // namespace flywheel::tokenizer
