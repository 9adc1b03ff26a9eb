// The learning-rate schedule: warmup, then constant, linear or cosine decay to lr * min_lr_ratio at
// the last step, and the names the job spec accepts.
#include "learner/training/lr_schedule.h"

#include <cmath>
#include <numbers>

#include "gtest/gtest.h"

namespace flywheel::learner {
namespace {

// Every expected value is computed the same way in double; only the last bits of the cosine can
// differ with the order of operations.
constexpr double kTol = 1e-15;

TEST(LrSchedule, WarmupRisesLinearlyToThePeak) {
  const LrSchedule s{.lr = 1e-3, .warmup_steps = 4, .decay = LrDecay::kLinear, .total_steps = 14};
  EXPECT_NEAR(LearningRate(s, 0), 0.25e-3, kTol);
  EXPECT_NEAR(LearningRate(s, 2), 0.75e-3, kTol);
  EXPECT_NEAR(LearningRate(s, 3), 1e-3, kTol);  // the last warmup step reaches the peak
}

TEST(LrSchedule, ConstantKeepsThePeak) {
  const LrSchedule s{.lr = 2e-4, .warmup_steps = 2, .total_steps = 10};
  for (int64_t step : {2, 5, 9, 50}) EXPECT_EQ(LearningRate(s, step), 2e-4) << step;
}

TEST(LrSchedule, LinearEndsAtMinRatioOnTheLastStep) {
  // 11 steps after warmup: step 4 is the peak, step 14 (the last) is lr * 0.1.
  const LrSchedule s{.lr = 1e-3,
                     .warmup_steps = 4,
                     .decay = LrDecay::kLinear,
                     .total_steps = 15,
                     .min_lr_ratio = 0.1};
  EXPECT_NEAR(LearningRate(s, 4), 1e-3, kTol);
  EXPECT_NEAR(LearningRate(s, 9), 1e-3 * (0.1 + 0.9 * 0.5), kTol);
  EXPECT_NEAR(LearningRate(s, 14), 1e-4, kTol);
  EXPECT_NEAR(LearningRate(s, 20), 1e-4, kTol);  // resumed past the end: the final rate
  EXPECT_GT(LearningRate(s, 8), LearningRate(s, 9));
}

TEST(LrSchedule, CosineFollowsHalfACosine) {
  const LrSchedule s{.lr = 1.0, .decay = LrDecay::kCosine, .total_steps = 101};
  EXPECT_NEAR(LearningRate(s, 0), 1.0, kTol);
  EXPECT_NEAR(LearningRate(s, 25), 0.5 * (1 + std::cos(std::numbers::pi * 0.25)), kTol);
  EXPECT_NEAR(LearningRate(s, 50), 0.5, kTol);
  EXPECT_NEAR(LearningRate(s, 100), 0.0, kTol);
}

TEST(LrSchedule, ParsesTheThreeNamesAndRejectsOthers) {
  LrDecay d = LrDecay::kConstant;
  ASSERT_TRUE(ParseLrDecay("cosine", &d).ok());
  EXPECT_EQ(d, LrDecay::kCosine);
  ASSERT_TRUE(ParseLrDecay("linear", &d).ok());
  EXPECT_EQ(d, LrDecay::kLinear);
  ASSERT_TRUE(ParseLrDecay("constant", &d).ok());
  EXPECT_EQ(d, LrDecay::kConstant);
  const absl::Status bad = ParseLrDecay("step", &d);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("\"step\""), std::string::npos) << bad;
}

}  // namespace
}  // namespace flywheel::learner
