// One-call health and capability probes of flywheel servers: what SubmitJob checks before it
// accepts a job (is the server up, what model does it serve, which verifiers does it offer) and
// what the learner asks a rollout server before numbering its weight pushes.
//
// Thread safety: free functions; each call opens its own channel (see ChannelOptions'
// private_subchannel), so concurrent probes of a dead server do not wait on each other.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "common/rpc/tls.h"
#include "flywheel/v1/reward.grpc.pb.h"
#include "flywheel/v1/rollout.grpc.pb.h"

namespace flywheel::rpc {

// GetInfo of the rollout server at `address` about its model `model` ("" = its first), within
// timeout_seconds. The error is the call's status, its message prefixed with "rollout server
// ADDRESS unreachable: " when the server could not be reached or did not answer in time (a failed
// TLS handshake is one). The channel uses `tls` (plaintext when it is not enabled).
absl::StatusOr<v1::GetInfoResponse> ProbeRollout(const std::string& address, double timeout_seconds,
                                                 const std::string& bearer_token = "",
                                                 const ClientTls& tls = {},
                                                 const std::string& model = "");

// ListVerifiers of the reward server at `address`; errors as ProbeRollout.
absl::StatusOr<v1::ListVerifiersResponse> ProbeReward(const std::string& address,
                                                      double timeout_seconds,
                                                      const std::string& bearer_token = "",
                                                      const ClientTls& tls = {});

}  // namespace flywheel::rpc
