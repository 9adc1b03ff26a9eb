#include "common/base/flags.h"

#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace flywheel {

absl::StatusOr<Flags> Flags::Parse(const std::vector<std::string>& args,
                                   const std::set<std::string>& valued,
                                   const std::set<std::string>& boolean, bool positional) {
  Flags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0 || a == "--") {
      if (!positional)
        return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", a, "'"));
      flags.positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (valued.count(name)) {
      if (!value) {
        if (i + 1 >= args.size())
          return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
        value = args[++i];
      }
      flags.values_[name] = *value;
      flags.all_values_[name].push_back(*value);
    } else if (boolean.count(name)) {
      if (value) return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
      flags.values_[name] = "true";
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
  }
  return flags;
}

std::vector<std::string> Flags::GetAll(const std::string& name) const {
  auto it = all_values_.find(name);
  return it == all_values_.end() ? std::vector<std::string>{} : it->second;
}

std::optional<Flags> Flags::ParseOrUsage(const std::string& program,
                                         const std::vector<std::string>& args,
                                         const std::set<std::string>& valued,
                                         std::set<std::string> boolean,
                                         const std::vector<std::string>& required,
                                         const char* usage, int* exit_code) {
  boolean.insert("help");
  auto flags = Parse(args, valued, boolean);
  std::string why;
  if (!flags.ok()) {
    why = std::string(flags.status().message());
  } else if (flags->Has("help")) {
    std::fputs(usage, stdout);
    *exit_code = 0;
    return std::nullopt;
  } else {
    for (const auto& name : required) {
      if (!flags->Has(name)) {
        why = absl::StrCat("--", name, " is required");
        break;
      }
    }
  }
  if (!why.empty()) {
    std::fprintf(stderr, "%s: %s\n%s", program.c_str(), why.c_str(), usage);
    *exit_code = 2;
    return std::nullopt;
  }
  return std::move(*flags);
}

std::optional<std::string> Flags::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Flags::GetOr(const std::string& name, const std::string& fallback) const {
  return Get(name).value_or(fallback);
}

absl::StatusOr<int64_t> Flags::GetInt(const std::string& name, int64_t fallback) const {
  auto v = Get(name);
  if (!v) return fallback;
  int64_t out;
  if (!absl::SimpleAtoi(*v, &out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " must be an integer, got '", *v, "'"));
  }
  return out;
}

absl::StatusOr<double> Flags::GetDouble(const std::string& name, double fallback) const {
  auto v = Get(name);
  if (!v) return fallback;
  double out;
  if (!absl::SimpleAtod(*v, &out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " must be a number, got '", *v, "'"));
  }
  return out;
}

}  // namespace flywheel
