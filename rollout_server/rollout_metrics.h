// The rollout daemon's Prometheus metrics. Engine levels and totals are read from EngineStats at
// scrape time (a Collectable), so the engine thread pays nothing per token; the step latency
// histogram and RPC counters live in the metrics server's registry.
#pragma once

#include <memory>
#include <string>

#include "common/metrics/metrics_server.h"
#include "grpcpp/support/status.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "rollout_server/engine.h"

namespace flywheel::rollout {

class RolloutMetrics : public prometheus::Collectable {
 public:
  // Registers everything with `server`; stats must outlive this object.
  RolloutMetrics(metrics::MetricsServer* server, EngineStats* stats);

  std::vector<prometheus::MetricFamily> Collect() const override;
  // For EngineStats::on_step.
  void ObserveStep(double seconds) { step_->Observe(seconds); }
  void CountRpc(const std::string& method, const grpc::Status& status);

 private:
  EngineStats* stats_;
  prometheus::Histogram* step_;
  prometheus::Family<prometheus::Counter>* rpcs_;
};

}  // namespace flywheel::rollout
