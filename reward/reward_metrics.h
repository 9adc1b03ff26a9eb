// The reward daemon's Prometheus metrics: items by verifier and outcome, scoring latency, judge
// calls. One object per daemon; thread-safe (prometheus-cpp metrics are).
#pragma once

#include <string>

#include "common/metrics/metrics_server.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"

namespace flywheel::reward {

class RewardMetrics {
 public:
  explicit RewardMetrics(metrics::MetricsServer* server);

  // outcome: "correct", "wrong" or "error"; seconds: worker time spent on the item.
  void CountItem(const std::string& verifier, const std::string& outcome, double seconds);
  void CountJudgeCall();

 private:
  prometheus::Family<prometheus::Counter>* items_;
  prometheus::Histogram* latency_;
  prometheus::Counter* errors_;
  prometheus::Counter* judge_calls_;
};

}  // namespace flywheel::reward
