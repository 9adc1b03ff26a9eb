#include "learner/jobs/tenants.h"

#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/rpc/auth.h"

namespace flywheel::learner {
namespace {

bool ValidTenantName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<Tenants> Tenants::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read token file ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str(), path);
}

absl::StatusOr<Tenants> Tenants::Parse(const std::string& text, const std::string& where) {
  struct Line {
    int number;
    std::vector<std::string> fields;
  };
  std::vector<Line> lines;
  int number = 0;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++number;
    absl::string_view line = raw.substr(0, raw.find('#'));
    std::vector<std::string> fields =
        absl::StrSplit(absl::StripAsciiWhitespace(line), absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (!fields.empty()) lines.push_back({number, std::move(fields)});
  }
  if (lines.empty())
    return absl::InvalidArgumentError(absl::StrCat("token file ", where, " is empty"));
  Tenants t;
  if (lines.size() == 1 && lines[0].fields.size() == 1) {
    t.tokens_.emplace_back(lines[0].fields[0], kAdminTenant);  // the single-token format
    return t;
  }
  std::set<std::string> seen;
  for (const Line& l : lines) {
    const std::string at = absl::StrCat(where, ":", l.number, ": ");
    if (l.fields.size() != 2) {
      return absl::InvalidArgumentError(absl::StrCat(at, "expected `TENANT TOKEN`"));
    }
    if (!ValidTenantName(l.fields[0])) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, "tenant '", l.fields[0], "' must be letters, digits, '_', '.' or '-'"));
    }
    if (!seen.insert(l.fields[1]).second) {
      return absl::InvalidArgumentError(absl::StrCat(at, "this token is given twice"));
    }
    t.tokens_.emplace_back(l.fields[1], l.fields[0]);
  }
  return t;
}

absl::StatusOr<Caller> Tenants::Authenticate(const grpc::ServerContextBase& context) const {
  if (tokens_.empty()) return Caller{"", true};
  const auto& md = context.client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) return absl::UnauthenticatedError("missing authorization: Bearer <token>");
  const std::string_view got(it->second.data(), it->second.size());
  constexpr std::string_view kPrefix = "Bearer ";
  const std::string_view token =
      got.substr(0, kPrefix.size()) == kPrefix ? got.substr(kPrefix.size()) : std::string_view();
  const std::string* tenant = nullptr;
  for (const auto& [t, name] : tokens_) {  // no early exit: every token costs the same
    if (rpc::ConstantTimeEquals(token, t) && tenant == nullptr) tenant = &name;
  }
  if (tenant == nullptr) return absl::UnauthenticatedError("invalid bearer token");
  return Caller{*tenant, *tenant == kAdminTenant};
}

}  // namespace flywheel::learner
