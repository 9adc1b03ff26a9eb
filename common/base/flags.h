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
  std::optional<std::string> Get(const std::string& name) const;
  std::string GetOr(const std::string& name, const std::string& fallback) const;
  // Parses an integer flag; error if present and not an integer.
  absl::StatusOr<int64_t> GetInt(const std::string& name, int64_t fallback) const;
  absl::StatusOr<double> GetDouble(const std::string& name, double fallback) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

}  // namespace flywheel
