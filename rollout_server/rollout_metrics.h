// The rollout daemon's Prometheus metrics. Engine levels and totals are read from EngineStats at
// scrape time (EngineStatsCollector), so the engine thread pays nothing per token; the step
// latency histogram and RPC counters (RolloutMetrics) live in the metrics server's registry.
#pragma once

#include <memory>
#include <string>

#include "common/metrics/metrics_server.h"
#include "grpcpp/support/status.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "rollout_server/engine.h"

namespace flywheel::rollout {

// The step histogram and RPC counters; created before the engine, whose on_step hook feeds it.
class RolloutMetrics {
 public:
  // Registers the families with `server`, which must outlive this object.
  explicit RolloutMetrics(metrics::MetricsServer* server);

  // For EngineOptions::on_step.
  void ObserveStep(double seconds) { step_->Observe(seconds); }
  // For the service's RPC observer.
  void CountRpc(const std::string& method, const grpc::Status& status);

 private:
  prometheus::Histogram* step_;
  prometheus::Family<prometheus::Counter>* rpcs_;
};

// The engine's levels and totals, read at scrape time; add it to the metrics server once the
// engine exists. The engine must outlive it. Weight versions carry a `model` label (the served
// model's name), so a dashboard shows every server's version of every model.
class EngineStatsCollector : public prometheus::Collectable {
 public:
  explicit EngineStatsCollector(Engine* engine) : engine_(engine) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  Engine* engine_;
};

}  // namespace flywheel::rollout
