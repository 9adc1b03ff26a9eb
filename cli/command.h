// The `flywheel` CLI: each sub-command lives in its own <name>_command.cc and registers itself.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace flywheel::cli {

// A sub-command gets its arguments after the command name and returns the process exit code:
// 0 success, 1 failure at run time, 2 bad usage. It prints its own errors to stderr.
using CommandFn = std::function<int(const std::vector<std::string>& args)>;

bool RegisterCommand(const std::string& name, const std::string& summary, CommandFn fn);

}  // namespace flywheel::cli

#define FW_CLI_CONCAT_INNER_(a, b) a##b
#define FW_CLI_CONCAT_(a, b) FW_CLI_CONCAT_INNER_(a, b)
#define FW_REGISTER_COMMAND(name, summary, fn)                     \
  static const bool FW_CLI_CONCAT_(fw_cli_registered_, __LINE__) = \
      ::flywheel::cli::RegisterCommand(name, summary, fn)
