// What the job commands (submit, jobs, watch, cancel, demo) share to talk to a flywheel-learner:
// the address to use, the stub, the bearer token for write RPCs, and how job states and RPC
// errors are shown. Stateless helpers; safe from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/base/flags.h"
#include "flywheel/v1/learner.grpc.pb.h"
#include "grpcpp/client_context.h"

namespace flywheel::cli {

// --learner's default: $FLYWHEEL_LEARNER when set and non-empty, else 127.0.0.1:7070.
std::string DefaultLearnerAddress();

// An insecure channel to `address` (loopback or a trusted network; TLS is the daemon's business).
std::unique_ptr<v1::JobService::Stub> ConnectLearner(const std::string& address);

// The bearer token for SubmitJob/CancelJob: read from `token_file` when given, else from the file
// named by $FLYWHEEL_TOKEN_FILE, else "" (no auth). Errors when the file cannot be read.
absl::StatusOr<std::string> ClientToken(const std::optional<std::string>& token_file);

// One write RPC (SubmitJob, CancelJob) as the job commands make it: the learner from --learner
// (else DefaultLearnerAddress()), a context with the deadline and the bearer token from
// --token-file (see ClientToken).
struct LearnerWriteCall {
  std::string address;
  std::unique_ptr<v1::JobService::Stub> stub;
  grpc::ClientContext context;
};
// Errors only when the token file cannot be read.
absl::StatusOr<std::unique_ptr<LearnerWriteCall>> PrepareWriteCall(const Flags& flags,
                                                                   double timeout_seconds);

// "queued", "running", "succeeded", "failed", "cancelled" ("unknown" otherwise).
std::string JobStateName(v1::JobState state);
bool IsTerminal(v1::JobState state);

// The message of a failed RPC for humans: "cannot reach the learner at ADDR (is it running?
// `flywheel up` starts one)" for UNAVAILABLE, else "<code>: <message>".
std::string DescribeRpcError(const grpc::Status& status, const std::string& address);

// "45s", "12m", "3h", "2d": the age of something created `seconds` ago.
std::string FormatAge(double seconds);

}  // namespace flywheel::cli
