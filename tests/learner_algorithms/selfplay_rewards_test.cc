// Self-play's round numbers against a Python transcription of SGS's equations
// (tests/reference/selfplay_ref.py, numpy's percentile): the solver gate, the too-easy cut, the
// conjecturer's R_solve * R_guide, the min-max normalisation and the length penalty, on fixed
// batches that exercise every branch; plus the cases a reader can check by hand.
#include "learner/algorithms/selfplay_rewards.h"

#include <random>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/util/reference_script.h"

namespace flywheel::learner {
namespace {

TEST(SelfPlayRewardsTest, HandCheckedRound) {
  SelfPlayRewardOptions o;
  EXPECT_FALSE(TrainSolverOn(0.0, o));  // no correct attempt to train on
  EXPECT_TRUE(TrainSolverOn(0.125, o));
  EXPECT_TRUE(TrainSolverOn(0.5, o));
  EXPECT_FALSE(TrainSolverOn(0.625, o));  // solved more often than not: little left to learn
  // Rates in (0, 1): 0.25, 0.5, 0.75, 0.875 -> the 70th percentile is at rank 2.1: 0.7625.
  const std::vector<double> s = {0.0, 0.25, 0.5, 0.75, 0.875, 1.0};
  EXPECT_DOUBLE_EQ(TooEasyThreshold(s, 0.7), 0.75 + 0.1 * 0.125);
  const auto r = ConjectureRewards(s, {1, 1, 0.5, 1, 1, 1}, {0, 0, 0, 0, 0, 0.9}, o);
  EXPECT_FALSE(r[0].kept);  // never solved
  EXPECT_TRUE(r[1].kept);
  EXPECT_TRUE(r[3].kept);
  EXPECT_FALSE(r[4].kept);  // above the cut: too easy
  EXPECT_FALSE(r[5].kept);
  EXPECT_DOUBLE_EQ(r[1].r, 0.75);
  EXPECT_DOUBLE_EQ(r[2].r, 0.25);  // half its R_solve: the guide gave it 0.5
  EXPECT_DOUBLE_EQ(r[3].r, 0.25);
  EXPECT_DOUBLE_EQ(r[1].weight, 1.0);  // the best kept one
  EXPECT_DOUBLE_EQ(r[2].weight, 0.0);  // the worst kept one
  EXPECT_DOUBLE_EQ(r[0].weight, 0.0);
  EXPECT_DOUBLE_EQ(r[5].weight, -0.5);  // 90% of the length limit: half way to -1
  EXPECT_DOUBLE_EQ(LengthPenalty(0.8, 0.8), 0.0);
  EXPECT_DOUBLE_EQ(LengthPenalty(1.5, 0.8), -1.0);
}

TEST(SelfPlayRewardsReferenceTest, MatchesTheEquations) {
  std::mt19937_64 rng(3);
  nlohmann::json inp = {{"cases", nlohmann::json::array()}};
  struct Case {
    SelfPlayRewardOptions options;
    std::vector<double> solver, rates, guide, length;
  };
  std::vector<Case> cases;
  for (int c = 0; c < 12; ++c) {
    Case k;
    k.options.too_easy_percentile = c % 3 == 0 ? 0.7 : c % 3 == 1 ? 0.5 : 0.9;
    k.options.length_penalty_start = c % 2 ? 0.8 : 0.6;
    const int attempts = c % 2 ? 8 : 6;
    const int n = 1 + static_cast<int>(rng() % 20);
    for (int i = 0; i < n; ++i) {
      k.solver.push_back(static_cast<double>(rng() % (attempts + 1)) / attempts);
      k.rates.push_back(static_cast<double>(rng() % (attempts + 1)) / attempts);
      // Guide scores on SGS's 0..8 scale divided by 8, some equal so ties in R occur.
      k.guide.push_back(static_cast<double>(rng() % 9) / 8.0);
      k.length.push_back(static_cast<double>(rng() % 12) / 10.0);
    }
    if (c == 5) k.guide.assign(n, 1.0), k.rates.assign(n, 0.5);  // every R equal: weights 1
    if (c == 7) k.rates.assign(n, 1.0);                          // nothing in (0, 1)
    cases.push_back(k);
    inp["cases"].push_back({{"options",
                             {{"max_solve_rate", k.options.max_solve_rate},
                              {"too_easy_percentile", k.options.too_easy_percentile},
                              {"length_penalty_start", k.options.length_penalty_start}}},
                            {"solver_rates", k.solver},
                            {"solve_rates", k.rates},
                            {"guide", k.guide},
                            {"length_fraction", k.length}});
  }
  auto out = testing::RunReferenceScript("selfplay_ref.py", inp);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ((*out)["results"].size(), cases.size());
  int kept = 0, penalised = 0;
  for (size_t c = 0; c < cases.size(); ++c) {
    SCOPED_TRACE(c);
    const Case& k = cases[c];
    const nlohmann::json& ref = (*out)["results"][c];
    for (size_t i = 0; i < k.solver.size(); ++i) {
      EXPECT_EQ(TrainSolverOn(k.solver[i], k.options), ref["train_solver"][i].get<bool>());
    }
    // numpy and the C++ interpolate the same two float64 values: equal to a few ulps.
    EXPECT_NEAR(TooEasyThreshold(k.rates, k.options.too_easy_percentile),
                ref["threshold"].get<double>(), 1e-12);
    const auto r = ConjectureRewards(k.rates, k.guide, k.length, k.options);
    for (size_t i = 0; i < r.size(); ++i) {
      EXPECT_EQ(r[i].kept, ref["kept"][i].get<bool>()) << i;
      EXPECT_NEAR(r[i].r, ref["r"][i].get<double>(), 1e-12) << i;
      EXPECT_NEAR(r[i].weight, ref["weight"][i].get<double>(), 1e-12) << i;
      kept += r[i].kept;
      penalised += r[i].weight < 0;
    }
  }
  EXPECT_GT(kept, 10);      // the random rounds exercised the kept branch...
  EXPECT_GT(penalised, 5);  // ...and the length penalty
}

}  // namespace
}  // namespace flywheel::learner
