#include "cli/learner_client.h"

#include <chrono>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/rpc/auth.h"
#include "common/rpc/client.h"
#include "common/rpc/status.h"

namespace flywheel::cli {

std::string DefaultLearnerAddress() {
  const char* env = std::getenv("FLYWHEEL_LEARNER");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string("127.0.0.1:7070");
}

std::unique_ptr<v1::JobService::Stub> ConnectLearner(const std::string& address) {
  return v1::JobService::NewStub(rpc::MakeChannel(address));
}

absl::StatusOr<std::string> ClientToken(const std::optional<std::string>& token_file) {
  if (token_file) return rpc::ReadTokenFile(*token_file);
  const char* env = std::getenv("FLYWHEEL_TOKEN_FILE");
  if (env != nullptr && *env != '\0') return rpc::ReadTokenFile(env);
  return std::string();
}

std::string JobStateName(v1::JobState state) {
  switch (state) {
    case v1::JOB_STATE_QUEUED:
      return "queued";
    case v1::JOB_STATE_RUNNING:
      return "running";
    case v1::JOB_STATE_SUCCEEDED:
      return "succeeded";
    case v1::JOB_STATE_FAILED:
      return "failed";
    case v1::JOB_STATE_CANCELLED:
      return "cancelled";
    default:
      return "unknown";
  }
}

bool IsTerminal(v1::JobState state) {
  return state == v1::JOB_STATE_SUCCEEDED || state == v1::JOB_STATE_FAILED ||
         state == v1::JOB_STATE_CANCELLED;
}

std::string DescribeRpcError(const grpc::Status& status, const std::string& address) {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    return absl::StrCat("cannot reach the learner at ", address, " (", status.error_message(),
                        "); is it running? `flywheel up` starts one, --learner or "
                        "$FLYWHEEL_LEARNER points elsewhere");
  }
  return rpc::FromGrpc(status).ToString();
}

std::string FormatAge(double seconds) {
  if (seconds < 0) seconds = 0;
  if (seconds < 120) return absl::StrCat(static_cast<int64_t>(seconds), "s");
  if (seconds < 7200) return absl::StrCat(static_cast<int64_t>(seconds / 60), "m");
  if (seconds < 172800) return absl::StrCat(static_cast<int64_t>(seconds / 3600), "h");
  return absl::StrCat(static_cast<int64_t>(seconds / 86400), "d");
}

absl::StatusOr<std::unique_ptr<LearnerWriteCall>> PrepareWriteCall(const Flags& flags,
                                                                   double timeout_seconds) {
  auto token = ClientToken(flags.Get("token-file"));
  if (!token.ok()) return token.status();
  auto call = std::make_unique<LearnerWriteCall>();
  call->address = flags.GetOr("learner", DefaultLearnerAddress());
  call->stub = ConnectLearner(call->address);
  rpc::SetDeadline(&call->context, timeout_seconds);
  rpc::AddBearer(&call->context, *token);
  return call;
}

}  // namespace flywheel::cli
