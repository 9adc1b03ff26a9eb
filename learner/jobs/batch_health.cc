#include "learner/jobs/batch_health.h"

#include <algorithm>
#include <cmath>

namespace flywheel::learner {

void MeasureLengths(const std::vector<TrainGroup>& groups, BatchHealth* health) {
  std::vector<int64_t> lengths;
  int64_t truncated = 0;
  for (const auto& g : groups) {
    for (const auto& s : g) {
      lengths.push_back(static_cast<int64_t>(s.completion.size()));
      truncated += s.truncated ? 1 : 0;
    }
  }
  if (lengths.empty()) return;
  double sum = 0;
  for (int64_t n : lengths) sum += static_cast<double>(n);
  const double count = static_cast<double>(lengths.size());
  health->length_mean = sum / count;
  // Nearest rank: the smallest length with at least 95% of the completions at or below it.
  const size_t rank = static_cast<size_t>(std::ceil(0.95 * count)) - 1;
  std::nth_element(lengths.begin(), lengths.begin() + rank, lengths.end());
  health->length_p95 = static_cast<double>(lengths[rank]);
  health->truncation_rate = static_cast<double>(truncated) / count;
}

bool FormatFailure(const v1::RewardResult& r) {
  if (!r.error().empty()) return false;
  for (const auto& t : r.terms()) {
    if (t.name() == "format") return t.value() <= 0.0;
  }
  return r.criteria_size() == 0 && !r.correct() && r.answer().empty();
}

std::optional<bool> RubricDisagrees(const v1::RewardResult& r) {
  double rule = 0, judged = 0;
  int rules = 0, judges = 0;
  for (const auto& c : r.criteria()) {
    if (c.judged()) {
      judged += c.score();
      ++judges;
    } else {
      rule += c.score();
      ++rules;
    }
  }
  if (rules == 0 || judges == 0) return std::nullopt;
  return (rule / rules >= 0.5) != (judged / judges >= 0.5);
}

void MeasureRewards(const std::vector<v1::RewardResult>& results, BatchHealth* health) {
  int64_t scored = 0, failures = 0, both = 0, disagree = 0;
  for (const auto& r : results) {
    if (!r.error().empty()) continue;
    ++scored;
    failures += FormatFailure(r) ? 1 : 0;
    if (auto d = RubricDisagrees(r)) {
      ++both;
      disagree += *d ? 1 : 0;
    }
  }
  if (scored > 0) health->format_failure_rate = static_cast<double>(failures) / scored;
  if (both > 0) health->rubric_disagreement = static_cast<double>(disagree) / both;
}

}  // namespace flywheel::learner
