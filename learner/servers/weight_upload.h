// One PushWeights stream: a parameter set cut into CRC-checked chunks and written to one rollout
// server on gRPC's callback API, with a deadline that holds even when the server stops reading.
//
// Why not the synchronous ClientWriter: with gRPC 1.51, when the server stops reading (frozen
// with SIGSTOP, a hung host whose kernel still holds the connection) a write blocked on flow
// control is not always ended at the call's deadline, nor by TryCancel; Finish then never
// returns and the push, and with it the whole fleet switch, hangs on one bad server. Here the
// caller waits on a condition variable, gives up a moment after the deadline and cancels; a call
// gRPC still does not end stays behind, owning its buffers, and no longer reads the caller's.
//
// Thread safety: UploadWeights may be called from several threads at once (one call per stream).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "common/model/parameters.h"
#include "flywheel/v1/rollout.grpc.pb.h"

namespace flywheel::learner {

struct WeightUpload {
  std::string model;         // the rollout server's model name ("" = its only model)
  int64_t version = 0;       // the version the weights become
  bool stage_only = false;   // stage for a later CommitWeights instead of swapping in at once
  std::string bearer_token;  // "" = no authorization header
  double timeout_seconds = 60;
};

// Streams `params` (laid out by `layout`) to `stub`; OK once the server accepted all of it.
// DEADLINE_EXCEEDED or CANCELLED when the server did not take it in time.
absl::Status UploadWeights(v1::RolloutService::Stub* stub, const model::ParameterLayout& layout,
                           const float* params, const WeightUpload& upload,
                           v1::PushWeightsResponse* response);

}  // namespace flywheel::learner
