// The one conversion between absl::Status (used everywhere inside flywheel) and grpc::Status
// (on the wire). Codes map one to one; messages pass through unchanged.
#pragma once

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace flywheel::rpc {

grpc::Status ToGrpc(const absl::Status& status);
absl::Status FromGrpc(const grpc::Status& status);

}  // namespace flywheel::rpc
