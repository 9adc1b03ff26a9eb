#include "cli/learner_client.h"

#include <chrono>
#include <cstdio>
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

std::string LearnerFlagsUsage() {
  return std::string(
             "  --learner ADDR       the learner (default $FLYWHEEL_LEARNER, else 127.0.0.1:7070)\n"
             "  --token-file F       bearer token for the learner (default $FLYWHEEL_TOKEN_FILE,\n"
             "                       else none)\n") +
         rpc::kClientTlsUsage;
}

void AddLearnerFlags(std::set<std::string>* valued) {
  valued->insert({"learner", "token-file"});
  rpc::AddClientTlsFlags(valued);
}

void LearnerConnection::Prepare(grpc::ClientContext* context, double timeout_seconds) const {
  rpc::SetDeadline(context, timeout_seconds);
  rpc::AddBearer(context, token);
}

absl::StatusOr<LearnerConnection> ConnectLearner(const Flags& flags) {
  LearnerConnection c;
  auto token = ClientToken(flags.Get("token-file"));
  if (!token.ok()) return token.status();
  c.token = *std::move(token);
  rpc::ChannelOptions options;
  auto tls = rpc::ClientTlsFromFlags(flags);
  if (!tls.ok()) return tls.status();
  options.tls = *std::move(tls);
  c.address = flags.GetOr("learner", DefaultLearnerAddress());
  c.stub = v1::JobService::NewStub(rpc::MakeChannel(c.address, options));
  return c;
}

std::optional<LearnerConnection> ConnectLearnerOrSay(const Flags& flags, const char* program) {
  auto c = ConnectLearner(flags);
  if (c.ok()) return *std::move(c);
  std::fprintf(stderr, "%s: %s\n", program, std::string(c.status().message()).c_str());
  return std::nullopt;
}

}  // namespace flywheel::cli
