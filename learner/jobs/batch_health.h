// The numbers that show reward hacking and collapse in a sampled batch, beside the reward itself:
// completions growing towards max_tokens (length mean and p95, truncation rate), answers the
// verifier cannot read (format failures), and rubric items where the rule-checked criteria and
// the judge disagree. They go into StepMetrics and the learner's gauges, and the alert rules in
// deploy/prometheus/ watch them.
//
// Thread safety: functions of their arguments.
#pragma once

#include <optional>
#include <vector>

#include "flywheel/v1/reward.pb.h"
#include "learner/algorithms/samples.h"

namespace flywheel::learner {

struct BatchHealth {
  double length_mean = 0;  // completion tokens
  double length_p95 = 0;   // nearest-rank 95th percentile
  double truncation_rate = 0;
  double format_failure_rate = 0;
  // Over items with both rule-checked and judged rubric criteria; empty when there are none.
  std::optional<double> rubric_disagreement;
};

// Length and truncation over every completion of `groups`.
void MeasureLengths(const std::vector<TrainGroup>& groups, BatchHealth* health);

// Format failures and rubric disagreement over the reward service's results.
void MeasureRewards(const std::vector<v1::RewardResult>& results, BatchHealth* health);

// A format failure: the task's format rule failed, or (without one) the verifier could read no
// answer. Items the service could not score are not counted.
bool FormatFailure(const v1::RewardResult& result);

// For an item with both kinds of rubric criteria: whether the rule-checked ones (mean score) and
// the judged ones pass or fail differently (threshold 0.5). Empty when it lacks either kind.
std::optional<bool> RubricDisagrees(const v1::RewardResult& result);

}  // namespace flywheel::learner
