// Who is calling JobService, from the bearer token, and which jobs that caller may see.
//
// The learner's --auth-token-file holds one `TENANT TOKEN` pair per line ('#' starts a comment;
// a tenant may have several tokens). A job belongs to the tenant that submitted it; a tenant
// lists, gets, watches and cancels only its own jobs, and another tenant's job looks exactly like
// a job that does not exist (NotFound), so ids reveal nothing. The tenant named "admin" sees and
// cancels every job. A file holding a single bare token (the format before tenants) makes that
// token the admin's.
//
// With no token file, authentication is off: every caller is the admin and jobs carry no tenant.
//
// Thread safety: immutable after Load; every method is const and may be called from any thread.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "flywheel/v1/learner.pb.h"
#include "grpcpp/server_context.h"

namespace flywheel::learner {

inline constexpr char kAdminTenant[] = "admin";

// The authenticated caller of one RPC.
struct Caller {
  std::string tenant;  // "" when authentication is off
  bool admin = false;
  // A job is visible to its own tenant and to the admin.
  bool MaySee(const v1::Job& job) const { return admin || job.tenant() == tenant; }
};

class Tenants {
 public:
  // Authentication off: every caller is the admin.
  Tenants() = default;
  // Reads a token file (see the top of this file). NotFound when it cannot be read;
  // InvalidArgument naming the file and line for a malformed line, a tenant name outside
  // [A-Za-z0-9_.-], or a token given twice; InvalidArgument when it holds no token.
  static absl::StatusOr<Tenants> Load(const std::string& path);
  // The same from the file's text; `where` names it in errors.
  static absl::StatusOr<Tenants> Parse(const std::string& text, const std::string& where);

  bool enabled() const { return !tokens_.empty(); }

  // The caller of an RPC from its "authorization: Bearer <token>" metadata. Unauthenticated when
  // tokens are configured and the call carries none or an unknown one. Every configured token is
  // compared in constant time, so the time taken reveals neither which tenant nor how much of a
  // token matched.
  absl::StatusOr<Caller> Authenticate(const grpc::ServerContextBase& context) const;

 private:
  std::vector<std::pair<std::string, std::string>> tokens_;  // (token, tenant)
};

}  // namespace flywheel::learner
