// What the job commands (submit, jobs, watch, cancel, demo) share to talk to a flywheel-learner:
// the address to use, TLS, the bearer token, and how job states and RPC errors are shown.
// Stateless helpers; safe from any thread.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "common/base/flags.h"
#include "flywheel/v1/learner.grpc.pb.h"
#include "grpcpp/client_context.h"

namespace flywheel::cli {

// --learner's default: $FLYWHEEL_LEARNER when set and non-empty, else 127.0.0.1:7070.
std::string DefaultLearnerAddress();

// A plaintext channel to a learner on loopback (the one `flywheel demo` starts).
std::unique_ptr<v1::JobService::Stub> ConnectLearner(const std::string& address);

// The bearer token: read from `token_file` when given, else from the file named by
// $FLYWHEEL_TOKEN_FILE, else "" (no auth). Errors when the file cannot be read.
absl::StatusOr<std::string> ClientToken(const std::optional<std::string>& token_file);

// The learner a job command talks to, from its flags: --learner (else DefaultLearnerAddress()),
// TLS from --tls-ca / --tls-cert / --tls-key (plaintext without --tls-ca), and the bearer token
// of --token-file (see ClientToken). The token goes on every call: with tenants it also decides
// which jobs the caller sees.
struct LearnerConnection {
  std::string address;
  std::string token;
  std::unique_ptr<v1::JobService::Stub> stub;
  // Sets a deadline `timeout_seconds` from now and the bearer token on `context`.
  void Prepare(grpc::ClientContext* context, double timeout_seconds) const;
};
// Errors when the token or a TLS file cannot be read, or the TLS flags do not fit together.
absl::StatusOr<LearnerConnection> ConnectLearner(const Flags& flags);
// The same, printing "<program>: <why>" on stderr on error (the command then exits with 1).
std::optional<LearnerConnection> ConnectLearnerOrSay(const Flags& flags, const char* program);

// Adds the flags ConnectLearner reads to a job command's valued flags.
void AddLearnerFlags(std::set<std::string>* valued);
// Their usage lines (ends with a newline).
std::string LearnerFlagsUsage();

// "queued", "running", "succeeded", "failed", "cancelled" ("unknown" otherwise).
std::string JobStateName(v1::JobState state);
bool IsTerminal(v1::JobState state);

// The message of a failed RPC for humans: "cannot reach the learner at ADDR (is it running?
// `flywheel up` starts one)" for UNAVAILABLE, else "<code>: <message>".
std::string DescribeRpcError(const grpc::Status& status, const std::string& address);

// "45s", "12m", "3h", "2d": the age of something created `seconds` ago.
std::string FormatAge(double seconds);

}  // namespace flywheel::cli
