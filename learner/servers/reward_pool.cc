#include "learner/servers/reward_pool.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/rpc/client.h"

namespace flywheel::learner {
namespace {

// Items per request: big enough to fill a reward server's workers, small enough that a retry
// repeats little work.
constexpr int64_t kItemsPerRequest = 128;
constexpr int kMaxInflightPerServer = 8;
// A failed reward server is tried again after this long, doubling up to kMaxRecoverSeconds (it has
// no state to miss meanwhile; a restarted one is found within seconds).
constexpr double kRecoverAfterSeconds = 0.5;
constexpr double kMaxRecoverSeconds = 10.0;

}  // namespace

RewardPool::RewardPool(const std::vector<std::string>& addresses, const rpc::ClientTls& tls,
                       double timeout_seconds, double max_outage_seconds,
                       ReplicaSet::EventFn on_event)
    : replicas_(addresses,
                {.kind = "reward server",
                 .recover_after_seconds = kRecoverAfterSeconds,
                 .max_recover_seconds = kMaxRecoverSeconds,
                 .max_outage_seconds = max_outage_seconds},
                std::move(on_event)),
      timeout_seconds_(timeout_seconds) {
  rpc::ChannelOptions options;
  options.tls = tls;
  for (const auto& a : addresses) {
    stubs_.push_back(v1::RewardService::NewStub(rpc::MakeChannel(a, options)));
  }
}

absl::StatusOr<std::vector<v1::RewardResult>> RewardPool::ScoreAll(
    const std::vector<v1::RewardItem>& items, const std::atomic<bool>* cancel, bool one_request) {
  const int64_t n = static_cast<int64_t>(items.size());
  const int64_t per_request = one_request ? std::max<int64_t>(n, 1) : kItemsPerRequest;
  const int64_t requests = (n + per_request - 1) / per_request;
  std::vector<v1::RewardResult> results(items.size());
  std::vector<v1::ScoreRewardsRequest> reqs(requests);
  for (int64_t i = 0; i < n; ++i) *reqs[i / per_request].add_items() = items[i];
  absl::Status st = replicas_.RunAll(
      requests, kMaxInflightPerServer,
      [&](int server, int64_t task, std::function<void(const grpc::Status&)> done) {
        auto ctx = std::make_shared<grpc::ClientContext>();
        rpc::SetDeadline(ctx.get(), timeout_seconds_);
        auto resp = std::make_shared<v1::ScoreRewardsResponse>();
        stubs_[server]->async()->Score(
            ctx.get(), &reqs[task], resp.get(),
            [ctx, resp, task, per_request, &reqs, &results,
             done = std::move(done)](grpc::Status s) {
              if (s.ok() && resp->results_size() != reqs[task].items_size()) {
                s = grpc::Status(grpc::StatusCode::INTERNAL,
                                 absl::StrCat("reward server answered ", resp->results_size(),
                                              " results for ", reqs[task].items_size(), " items"));
              }
              if (s.ok()) {
                for (int i = 0; i < resp->results_size(); ++i) {
                  results[task * per_request + i] = std::move(*resp->mutable_results(i));
                }
              }
              done(s);
            });
      },
      cancel);
  if (!st.ok()) return st;
  return results;
}

}  // namespace flywheel::learner
