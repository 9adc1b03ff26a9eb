// The learner daemon's Prometheus metrics: each finished step's numbers as gauges labelled by job
// and its tenant (flywheel_learner_reward_mean{job_id="job-3",tenant="team-a"} ...), the step
// time split by phase, and totals. A job's tenant label comes from its record, which SetJobState
// sees first (the JobBoard sets the state of every job it creates, loads or updates).
//
// Thread safety: prometheus-cpp metrics are thread-safe; so is every method here.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/metrics/metrics_server.h"
#include "flywheel/v1/learner.pb.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"

namespace flywheel::learner {

class LearnerMetrics {
 public:
  explicit LearnerMetrics(metrics::MetricsServer* server);

  void RecordStep(const std::string& job, const std::string& algorithm, const v1::StepMetrics& m);
  void RecordEval(const std::string& job, double accuracy);
  void CountRetries(const std::string& job, const std::string& kind, int64_t n);
  // Sets the state gauges of `job` and remembers its tenant for the job's other series.
  void SetJobState(const v1::Job& job);
  // Self-play's round numbers: targets solved (cumulative), the gate's pass rate and rejections
  // by reason, distinct conjectures, the solve-count histogram, trained sequences by role.
  void RecordSelfPlay(const std::string& job, const v1::StepMetrics& m);
  // 1 while the collapse monitor reports a collapse, else 0.
  void SetSelfPlayCollapse(const std::string& job, bool collapsed);

 private:
  // The tenant label of job `job` ("" until SetJobState has seen it).
  std::string TenantOf(const std::string& job);

  std::mutex mu_;
  std::map<std::string, std::string> tenants_ ABSL_GUARDED_BY(mu_);  // job id -> tenant
  // One gauge family per StepMetrics field in kStepGauges (learner_metrics.cc), same order.
  std::vector<prometheus::Family<prometheus::Gauge>*> step_gauges_;
  prometheus::Family<prometheus::Gauge>* phase_seconds_;
  prometheus::Family<prometheus::Gauge>* rubric_disagreement_;
  prometheus::Family<prometheus::Gauge>* eval_accuracy_;
  prometheus::Family<prometheus::Gauge>* job_state_;
  prometheus::Family<prometheus::Counter>* steps_total_;
  prometheus::Family<prometheus::Counter>* tokens_total_;
  prometheus::Family<prometheus::Counter>* retries_total_;
  prometheus::Family<prometheus::Gauge>* selfplay_;         // label "what"
  prometheus::Family<prometheus::Gauge>* rejections_;       // label "reason"
  prometheus::Family<prometheus::Gauge>* solve_histogram_;  // label "solved"
  prometheus::Family<prometheus::Gauge>* collapse_;
};

}  // namespace flywheel::learner
