// RewardService over gRPC's callback API. Items are scored on a worker queue, never on gRPC's
// threads; items with judged rubric criteria go to the judge together, in one call per request.
// Each item has a time limit counted from when a worker starts it: an item past its limit is
// answered with DEADLINE_EXCEEDED and the rest of the request completes normally.
//
// Thread safety: gRPC calls the methods from its own threads; shared state is guarded.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/base/task_queue.h"
#include "flywheel/v1/reward.grpc.pb.h"
#include "reward/judge.h"
#include "reward/reward_metrics.h"
#include "reward/score.h"

namespace flywheel::reward {

struct RewardServiceOptions {
  int threads = 2;  // scoring workers
  double item_timeout_seconds = 10;
  int max_items = 100000;  // per request
  InputLimits limits;
};

class RewardService final : public flywheel::v1::RewardService::CallbackService {
 public:
  // judge and metrics may be null; both must outlive the service.
  RewardService(const RewardServiceOptions& options, Judge* judge, RewardMetrics* metrics);
  ~RewardService() override;

  grpc::ServerUnaryReactor* Score(grpc::CallbackServerContext* context,
                                  const flywheel::v1::ScoreRewardsRequest* request,
                                  flywheel::v1::ScoreRewardsResponse* response) override;
  grpc::ServerUnaryReactor* ListVerifiers(grpc::CallbackServerContext* context,
                                          const flywheel::v1::ListVerifiersRequest* request,
                                          flywheel::v1::ListVerifiersResponse* response) override;

 private:
  struct Batch;
  void Watch();  // Times out items past their limit.

  const RewardServiceOptions options_;
  Judge* judge_;
  RewardMetrics* metrics_;
  std::mutex mu_;
  std::vector<std::weak_ptr<Batch>> active_;  // Guarded by mu_.
  bool stopping_ = false;                     // Guarded by mu_.
  std::thread watcher_;
  TaskQueue workers_;  // Last: destroyed (drained) first.
};

}  // namespace flywheel::reward
