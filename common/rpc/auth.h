// Bearer-token authentication for write RPCs (PushWeights, SubmitJob, CancelJob): the client
// sends metadata "authorization: Bearer <token>"; the server compares in constant time.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"

namespace flywheel::rpc {

// Reads a token file (surrounding whitespace trimmed). InvalidArgument if it is empty.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// OK when `expected` is empty (auth disabled) or the call carries "Bearer <expected>";
// Unauthenticated otherwise.
absl::Status CheckBearer(const grpc::ServerContextBase& context, const std::string& expected);

// a == b in time that depends only on the lengths, never on where the bytes differ, so a caller
// learns nothing about how much of a secret it guessed.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Adds the header a client needs for CheckBearer (no-op for an empty token).
void AddBearer(grpc::ClientContext* context, const std::string& token);

}  // namespace flywheel::rpc
