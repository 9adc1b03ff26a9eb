// Rewards combine as a weighted sum of named terms ("correct", "format", "overlong", "rubric"),
// and the breakdown travels with the total so that a user can see which term moved a reward.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace flywheel::reward {

struct RewardTerm {
  std::string name;
  double value = 0;   // the term's own reward, before weighting
  double weight = 1;  // its weight in the total
};

struct CombinedReward {
  double total = 0;  // sum of weight * value over terms
  std::vector<RewardTerm> terms;
};

// InvalidArgument for an empty or duplicate name or a non-finite value or weight. No terms give
// a total of 0.
absl::StatusOr<CombinedReward> CombineTerms(std::vector<RewardTerm> terms);

}  // namespace flywheel::reward
