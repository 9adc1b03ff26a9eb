// The learner's view of a set of rollout servers: generation and scoring spread over the replicas
// (ReplicaSet), and weight pushes to every one of them as chunked PushWeights streams. The job's
// policy servers are one pool; a distillation teacher's servers are another (scored, never
// pushed to).
//
// A policy server that misses a push serves stale weights, so it stays down until a later push
// to it succeeds; a teacher server is tried again after a few seconds.
//
// Thread safety: GenerateAll and PushAll may run concurrently (the producer samples the next batch
// while the learner pushes).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/model/parameters.h"
#include "common/rpc/tls.h"
#include "flywheel/v1/rollout.grpc.pb.h"
#include "learner/servers/replica_set.h"

namespace flywheel::learner {

struct PushResult {
  int servers_updated = 0;
  int64_t bytes = 0;
  double max_swap_pause_seconds = 0.0;
};

class RolloutPool {
 public:
  // bearer_token authorises PushWeights ("" when the servers run without a token); tls secures
  // the channels (plaintext when not enabled). `replicas` names the servers in messages and says
  // how a failed one is retried; the default (a policy server) stays down until a push to it
  // succeeds.
  RolloutPool(const std::vector<std::string>& addresses, std::string bearer_token,
              const rpc::ClientTls& tls, double timeout_seconds, ReplicaSet::EventFn on_event,
              ReplicaSet::Options replicas = {.kind = "rollout server"});

  // Samples every request, in order. Each request runs whole on one server; a server that fails
  // is skipped and its requests run again elsewhere with the same seeds.
  absl::StatusOr<std::vector<v1::GenerateResponse>> GenerateAll(
      const std::vector<v1::GenerateRequest>& requests, const std::atomic<bool>* cancel);

  // Sends `params` (layout's tensors, float32) as `version` to every server at once. A server
  // that fails is marked down; Unavailable only when no server took the push.
  absl::StatusOr<PushResult> PushAll(const model::ParameterLayout& layout, const float* params,
                                     int64_t version);

  // The largest weight version any server reports (GetInfo); -1 when none answers. The learner
  // numbers its pushes above it so versions never repeat on a server.
  int64_t MaxServerVersion();

  // Raw logprobs of each item's continuation under the served weights (Score), spread over the
  // servers like GenerateAll. With the policy's own servers this is the self-teacher of
  // distillation; a TeacherPool is a RolloutPool over the teacher's servers.
  absl::StatusOr<std::vector<std::vector<float>>> ScoreAll(const std::vector<v1::ScoreItem>& items,
                                                           const std::atomic<bool>* cancel);

  int64_t retries() const { return replicas_.retries(); }
  int size() const { return replicas_.size(); }

 private:
  absl::Status PushOne(int server, const model::ParameterLayout& layout, const float* params,
                       int64_t version, v1::PushWeightsResponse* response);

  ReplicaSet replicas_;
  std::vector<std::unique_ptr<v1::RolloutService::Stub>> stubs_;
  const std::string token_;
  const rpc::ClientTls tls_;
  const double timeout_seconds_;
};

}  // namespace flywheel::learner
