// The learner's reward servers: batches of items split into requests and spread over the replicas
// (ReplicaSet); a request whose server fails runs again on another, and a server that failed is
// tried again with backoff (0.5 s doubling to 10 s). When every one is down, scoring waits for one
// to come back for at most max_outage_seconds, then fails.
//
// Thread safety: ScoreAll may run concurrently with itself.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/rpc/tls.h"
#include "flywheel/v1/reward.grpc.pb.h"
#include "learner/servers/replica_set.h"

namespace flywheel::learner {

class RewardPool {
 public:
  // tls secures the channels (plaintext when not enabled).
  RewardPool(const std::vector<std::string>& addresses, const rpc::ClientTls& tls,
             double timeout_seconds, double max_outage_seconds, ReplicaSet::EventFn on_event);

  // One result per item, in order. An item the service could not score comes back with its
  // `error` set (that is the item's outcome, not a failure of the call). Items go out in requests
  // of 128, or all in one request with one_request (a batch the service must see whole, such as
  // the conjecture gate's duplicate check).
  absl::StatusOr<std::vector<v1::RewardResult>> ScoreAll(const std::vector<v1::RewardItem>& items,
                                                         const std::atomic<bool>* cancel,
                                                         bool one_request = false);

  int64_t retries() const { return replicas_.retries(); }

 private:
  ReplicaSet replicas_;
  std::vector<std::unique_ptr<v1::RewardService::Stub>> stubs_;
  const double timeout_seconds_;
};

}  // namespace flywheel::learner
