#include "learner/algorithms/rl_algorithm.h"

#include "learner/algorithms/grpo_step.h"
#include "learner/algorithms/opd_step.h"

namespace flywheel::learner {
namespace {

class Grpo final : public RlAlgorithm {
 public:
  Grpo(GrpoOptions options, std::shared_ptr<const model::Transformer> reference)
      : options_(std::move(options)), reference_(std::move(reference)) {}
  std::string name() const override { return "grpo"; }
  bool needs_rewards() const override { return true; }
  bool needs_teacher() const override { return false; }
  absl::StatusOr<StepStats> Step(PolicyTrainer& trainer, const std::vector<TrainGroup>& groups,
                                 int64_t policy_version) override {
    return GrpoStep(trainer, reference_.get(), groups, options_, policy_version);
  }

 private:
  const GrpoOptions options_;
  const std::shared_ptr<const model::Transformer> reference_;
};

class Opd final : public RlAlgorithm {
 public:
  explicit Opd(OpdOptions options) : options_(std::move(options)) {}
  std::string name() const override { return "opd"; }
  bool needs_rewards() const override { return options_.reward_weight > 0; }
  bool needs_teacher() const override { return true; }
  absl::StatusOr<StepStats> Step(PolicyTrainer& trainer, const std::vector<TrainGroup>& groups,
                                 int64_t policy_version) override {
    return OpdStep(trainer, groups, options_, policy_version);
  }

 private:
  const OpdOptions options_;
};

}  // namespace

std::unique_ptr<RlAlgorithm> MakeGrpo(GrpoOptions options,
                                      std::shared_ptr<const model::Transformer> reference) {
  return std::make_unique<Grpo>(std::move(options), std::move(reference));
}

std::unique_ptr<RlAlgorithm> MakeOpd(OpdOptions options) {
  return std::make_unique<Opd>(std::move(options));
}

}  // namespace flywheel::learner
