#include "cli/command_args.h"

#include <cstdio>

#include "absl/strings/str_cat.h"

namespace flywheel::cli {

std::optional<Flags> ParseWithPositional(const std::string& program,
                                         const std::vector<std::string>& args,
                                         const std::set<std::string>& valued,
                                         std::set<std::string> boolean, size_t positional_count,
                                         const std::string& positional_name, const char* usage,
                                         int* exit_code) {
  boolean.insert("help");
  auto flags = Flags::Parse(args, valued, boolean, /*positional=*/true);
  std::string why;
  if (!flags.ok()) {
    why = std::string(flags.status().message());
  } else if (flags->Has("help")) {
    std::fputs(usage, stdout);
    *exit_code = 0;
    return std::nullopt;
  } else if (flags->positional().size() < positional_count) {
    why = absl::StrCat(positional_name, " is required");
  } else if (flags->positional().size() > positional_count) {
    why = absl::StrCat("unexpected argument '", flags->positional()[positional_count], "'");
  }
  if (!why.empty()) {
    std::fprintf(stderr, "%s: %s\n%s", program.c_str(), why.c_str(), usage);
    *exit_code = 2;
    return std::nullopt;
  }
  return std::move(*flags);
}

}  // namespace flywheel::cli
