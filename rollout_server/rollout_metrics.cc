#include "rollout_server/rollout_metrics.h"

#include "prometheus/family.h"

namespace flywheel::rollout {
namespace {

prometheus::MetricFamily Family(const std::string& name, const std::string& help,
                                prometheus::MetricType type, double value) {
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return prometheus::MetricFamily{name, help, type, {m}};
}

}  // namespace

RolloutMetrics::RolloutMetrics(metrics::MetricsServer* server) {
  // Decode steps of a small CPU model take ~1 ms, prefill chunks up to seconds.
  step_ = &prometheus::BuildHistogram()
               .Name("flywheel_rollout_step_duration_seconds")
               .Help("Wall time of one engine step (prefill chunks and decodes of the batch)")
               .Register(server->registry())
               .Add({}, prometheus::Histogram::BucketBoundaries{
                            0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5});
  rpcs_ = &prometheus::BuildCounter()
               .Name("flywheel_rollout_rpcs_total")
               .Help("Finished RPCs by method and status code")
               .Register(server->registry());
}

void RolloutMetrics::CountRpc(const std::string& method, const grpc::Status& status) {
  static const char* kCodes[] = {"OK",
                                 "CANCELLED",
                                 "UNKNOWN",
                                 "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED",
                                 "NOT_FOUND",
                                 "ALREADY_EXISTS",
                                 "PERMISSION_DENIED",
                                 "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION",
                                 "ABORTED",
                                 "OUT_OF_RANGE",
                                 "UNIMPLEMENTED",
                                 "INTERNAL",
                                 "UNAVAILABLE",
                                 "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  const int code = static_cast<int>(status.error_code());
  rpcs_->Add({{"method", method}, {"code", code >= 0 && code <= 16 ? kCodes[code] : "UNKNOWN"}})
      .Increment();
}

std::vector<prometheus::MetricFamily> EngineStatsCollector::Collect() const {
  using prometheus::MetricType;
  const EngineStats& s = engine_->stats();
  prometheus::MetricFamily versions{"flywheel_rollout_weight_version",
                                    "Version of the weights being served, per model",
                                    MetricType::Gauge,
                                    {}};
  prometheus::MetricFamily staged{"flywheel_rollout_staged_weight_version",
                                  "Version staged for a commit, per model (-1: none)",
                                  MetricType::Gauge,
                                  {}};
  for (int m = 0; m < engine_->num_models(); ++m) {
    prometheus::ClientMetric v;
    v.label = {{"model", engine_->model_name(m)}};
    v.gauge.value = static_cast<double>(engine_->version(m));
    versions.metric.push_back(v);
    v.gauge.value = static_cast<double>(engine_->staged_version(m));
    staged.metric.push_back(v);
  }
  return {
      versions,
      staged,
      Family("flywheel_rollout_generated_tokens_total", "Tokens sampled", MetricType::Counter,
             static_cast<double>(s.generated_tokens.load())),
      Family("flywheel_rollout_prefill_tokens_total", "Prompt and recomputed tokens prefilled",
             MetricType::Counter, static_cast<double>(s.prefill_tokens.load())),
      Family("flywheel_rollout_running_sequences", "Sequences decoding", MetricType::Gauge,
             static_cast<double>(s.running.load())),
      Family("flywheel_rollout_waiting_sequences", "Sequences waiting for prefill or blocks",
             MetricType::Gauge, static_cast<double>(s.waiting.load())),
      Family("flywheel_rollout_kv_blocks_used", "KV cache blocks referenced by sequences",
             MetricType::Gauge, static_cast<double>(s.blocks_in_use.load())),
      Family("flywheel_rollout_kv_blocks_free", "KV cache blocks available (free or evictable)",
             MetricType::Gauge,
             static_cast<double>(s.blocks_total.load() - s.blocks_in_use.load())),
      Family("flywheel_rollout_preemptions_total", "Sequences preempted for lack of KV blocks",
             MetricType::Counter, static_cast<double>(s.preemptions.load())),
      Family("flywheel_rollout_idle_seconds_total",
             "Wall time the engine had nothing to run (idle capacity)", MetricType::Counter,
             s.idle_seconds.load()),
      Family("flywheel_rollout_weight_swap_pause_seconds", "Decode pause of the last weight swap",
             MetricType::Gauge, s.last_swap_pause.load()),
      Family("flywheel_rollout_weight_swap_pause_max_seconds",
             "Longest decode pause of a weight swap", MetricType::Gauge, s.max_swap_pause.load()),
  };
}

}  // namespace flywheel::rollout
