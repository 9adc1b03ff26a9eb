#include "learner/algorithms/kl_estimators.h"

#include "absl/strings/str_cat.h"

namespace flywheel::learner {

absl::StatusOr<KlEstimator> ParseKlEstimator(absl::string_view name) {
  if (name == "k1") return KlEstimator::kK1;
  if (name == "k2") return KlEstimator::kK2;
  if (name == "k3") return KlEstimator::kK3;
  return absl::InvalidArgumentError(
      absl::StrCat("kl_estimator must be \"k1\", \"k2\" or \"k3\", got \"", name, "\""));
}

}  // namespace flywheel::learner
