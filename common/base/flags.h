// A small flag parser for the CLI and the daemons: --name VALUE, --name=VALUE and boolean --name.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace flywheel {

class Flags {
 public:
  // Parses args. `valued` names flags that take a value, `boolean` flags that take none.
  // Unknown flags, missing values and stray positional arguments (when positional is false) are
  // errors naming the flag.
  static absl::StatusOr<Flags> Parse(const std::vector<std::string>& args,
                                     const std::set<std::string>& valued,
                                     const std::set<std::string>& boolean, bool positional = false);

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  // The flag's value (the last one when it was given several times).
  std::optional<std::string> Get(const std::string& name) const;
  // Every value of a flag given several times, in order (empty when absent).
  std::vector<std::string> GetAll(const std::string& name) const;
  std::string GetOr(const std::string& name, const std::string& fallback) const;
  // Parses an integer flag; error if present and not an integer.
  absl::StatusOr<int64_t> GetInt(const std::string& name, int64_t fallback) const;
  absl::StatusOr<double> GetDouble(const std::string& name, double fallback) const;
  const std::vector<std::string>& positional() const { return positional_; }

  // The usual front door of a command: parses args; with --help prints `usage` to stdout and sets
  // *exit_code to 0; on a parse error or a missing `required` flag prints "<program>: <why>" and
  // `usage` to stderr and sets *exit_code to 2. Returns the flags only when the command should run.
  // "help" is added to the boolean flags.
  static std::optional<Flags> ParseOrUsage(const std::string& program,
                                           const std::vector<std::string>& args,
                                           const std::set<std::string>& valued,
                                           std::set<std::string> boolean,
                                           const std::vector<std::string>& required,
                                           const char* usage, int* exit_code);

 private:
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> all_values_;
  std::vector<std::string> positional_;
};

}  // namespace flywheel
