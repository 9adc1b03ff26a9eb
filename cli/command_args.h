// Parsing a sub-command line that takes positional arguments besides its flags (`flywheel watch
// ID --learner ADDR`), the way Flags::ParseOrUsage does for flag-only commands.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/base/flags.h"

namespace flywheel::cli {

// Like Flags::ParseOrUsage, and also requires exactly `positional_count` positional arguments
// (in flags->positional()); otherwise prints "<program>: <why>" and `usage` to stderr and sets
// *exit_code to 2.
std::optional<Flags> ParseWithPositional(const std::string& program,
                                         const std::vector<std::string>& args,
                                         const std::set<std::string>& valued,
                                         std::set<std::string> boolean, size_t positional_count,
                                         const std::string& positional_name, const char* usage,
                                         int* exit_code);

}  // namespace flywheel::cli
