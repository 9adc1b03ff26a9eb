#include "reward/reward_metrics.h"

#include "prometheus/family.h"

namespace flywheel::reward {

RewardMetrics::RewardMetrics(metrics::MetricsServer* server) {
  auto& reg = server->registry();
  items_ = &prometheus::BuildCounter()
                .Name("flywheel_reward_items_total")
                .Help("Items scored, by verifier and outcome (correct, wrong, error)")
                .Register(reg);
  // Math verification takes microseconds; judged rubrics wait on a model for up to seconds.
  latency_ = &prometheus::BuildHistogram()
                  .Name("flywheel_reward_item_duration_seconds")
                  .Help("Worker time spent scoring one item")
                  .Register(reg)
                  .Add({}, prometheus::Histogram::BucketBoundaries{
                               1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1, 3, 10});
  errors_ =
      &prometheus::BuildCounter()
           .Name("flywheel_reward_errors_total")
           .Help("Items that could not be scored (bad spec, bad input, time limit, judge failure)")
           .Register(reg)
           .Add({});
  judge_calls_ = &prometheus::BuildCounter()
                      .Name("flywheel_reward_judge_calls_total")
                      .Help("Batched Score calls made to the judge model")
                      .Register(reg)
                      .Add({});
}

void RewardMetrics::CountItem(const std::string& verifier, const std::string& outcome,
                              double seconds) {
  items_->Add({{"verifier", verifier}, {"outcome", outcome}}).Increment();
  latency_->Observe(seconds);
  if (outcome == "error") errors_->Increment();
}

void RewardMetrics::CountJudgeCall() { judge_calls_->Increment(); }

}  // namespace flywheel::reward
