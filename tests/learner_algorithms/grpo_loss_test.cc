// Tests of the GRPO loss library: hand-checkable cases, input validation, and a comparison of loss
// and every dL/dlogp against the PyTorch reference tests/reference/grpo_ref.py (verl's formulas,
// float64, autograd) over aggregation x std normalisation x clip-higher x KL.
#include "learner/algorithms/grpo_loss.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/util/reference_script.h"

namespace flywheel::learner {
namespace {

// Owns the arrays that CompletionInput's spans borrow.
struct Completion {
  double reward = 0;
  std::vector<float> logp, logp_old, logp_ref, logp_rollout;
  std::vector<uint8_t> mask;
};
using Batch = std::vector<std::vector<Completion>>;

std::vector<GroupInput> View(const Batch& batch) {
  std::vector<GroupInput> groups;
  for (const auto& g : batch) {
    GroupInput& group = groups.emplace_back();
    for (const Completion& c : g) {
      group.push_back({c.reward, c.logp, c.logp_old, c.logp_ref, c.logp_rollout, c.mask});
    }
  }
  return groups;
}

// A completion of length t with all tokens valid and logp == logp_old (on-policy).
Completion OnPolicy(double reward, int t) {
  Completion c;
  c.reward = reward;
  for (int k = 0; k < t; ++k) c.logp.push_back(-0.5f - 0.25f * static_cast<float>(k));
  c.logp_old = c.logp;
  c.mask.assign(t, 1);
  return c;
}

GrpoResult MustLoss(const Batch& batch, const GrpoOptions& options) {
  absl::StatusOr<GrpoResult> r = GrpoLoss(View(batch), options);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *std::move(r) : GrpoResult{};
}

TEST(GroupAdvantagesTest, KnownGroup) {
  const std::vector<double> rewards = {1, 0, 0, 1};
  // mean 0.5; unbiased std = sqrt(4 * 0.25 / 3) = sqrt(1/3).
  auto a = GroupAdvantages(rewards, {.normalize_by_std = true, .std_eps = 1e-6});
  ASSERT_TRUE(a.ok()) << a.status();
  const double expect = 0.5 / (std::sqrt(1.0 / 3.0) + 1e-6);
  EXPECT_DOUBLE_EQ((*a)[0], expect);
  EXPECT_DOUBLE_EQ((*a)[1], -expect);
  EXPECT_DOUBLE_EQ((*a)[2], -expect);
  EXPECT_DOUBLE_EQ((*a)[3], expect);

  auto dr = GroupAdvantages(std::vector<double>{3, 1, 2}, {.normalize_by_std = false});
  ASSERT_TRUE(dr.ok());
  EXPECT_EQ(*dr, (std::vector<double>{1, -1, 0}));
}

TEST(GroupAdvantagesTest, EqualRewardsAndSingletons) {
  // 0.1 * 3 has a rounding residual in its mean; the contract is exact zeros anyway.
  auto eq = GroupAdvantages(std::vector<double>{0.1, 0.1, 0.1}, {});
  ASSERT_TRUE(eq.ok());
  EXPECT_EQ(*eq, (std::vector<double>{0, 0, 0}));
  auto one = GroupAdvantages(std::vector<double>{5}, {.normalize_by_std = false});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, (std::vector<double>{0}));
  EXPECT_EQ(GroupAdvantages(std::vector<double>{5}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GroupAdvantages(std::vector<double>{}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GroupAdvantages(std::vector<double>{1, std::nan("")}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// On-policy (ratio 1, no KL) the loss is REINFORCE with the group baseline: each valid token's
// gradient is -A_i / normaliser, where the normaliser depends on the aggregation.
TEST(GrpoLossTest, OnPolicyGradientIsMinusAdvantageOverNormaliser) {
  Batch batch = {{OnPolicy(1, 3), OnPolicy(0, 5), OnPolicy(0, 2), OnPolicy(1, 4)}};
  batch[0][1].mask[0] = 0;  // 4 valid tokens in completion 1; 13 in the batch.
  const std::vector<int> n = {3, 4, 2, 4};
  const double a = 0.5 / (std::sqrt(1.0 / 3.0) + 1e-6);
  const std::vector<double> adv = {a, -a, -a, a};
  for (LossAggregation mode : {LossAggregation::kTokenMean, LossAggregation::kSeqMeanTokenMean,
                               LossAggregation::kConstant}) {
    GrpoOptions o;
    o.aggregation = mode;
    o.constant_normalizer = 64;
    GrpoResult r = MustLoss(batch, o);
    double expect_loss = 0;
    for (int i = 0; i < 4; ++i) {
      const double norm = mode == LossAggregation::kTokenMean  ? 13.0
                          : mode == LossAggregation::kConstant ? 64.0
                                                               : n[i] * 4.0;
      expect_loss += -adv[i] * n[i] / norm;
      for (size_t t = 0; t < r.dlogp[i].size(); ++t) {
        const float expect = batch[0][i].mask[t] ? static_cast<float>(-adv[i] / norm) : 0.0f;
        EXPECT_EQ(r.dlogp[i][t], expect) << "mode " << static_cast<int>(mode) << " i " << i;
      }
    }
    EXPECT_NEAR(r.loss, expect_loss, 1e-14);  // a handful of double operations on O(1) values
    EXPECT_EQ(r.metrics.num_tokens, 13);
    EXPECT_EQ(r.metrics.clip_frac_low, 0);
    EXPECT_EQ(r.metrics.clip_frac_high, 0);
  }
}

TEST(GrpoLossTest, ClipMetricsAndZeroGradientWhenClipped) {
  Batch batch = {{OnPolicy(1, 2), OnPolicy(0, 2)}};
  // A > 0 and ratio e^0.5 > 1.28: clipped high. A < 0 and ratio e^-0.5 < 0.8: clipped low.
  batch[0][0].logp_old[0] -= 0.5f;
  batch[0][1].logp_old[0] += 0.5f;
  GrpoOptions o;
  o.clip_eps_high = 0.28;
  GrpoResult r = MustLoss(batch, o);
  EXPECT_EQ(r.dlogp[0][0], 0.0f);
  EXPECT_EQ(r.dlogp[1][0], 0.0f);
  EXPECT_NE(r.dlogp[0][1], 0.0f);
  EXPECT_DOUBLE_EQ(r.metrics.clip_frac_high, 0.25);
  EXPECT_DOUBLE_EQ(r.metrics.clip_frac_low, 0.25);
}

TEST(GrpoLossTest, DroppedEqualRewardGroupsGiveZeroGradientAndLeaveNormalisers) {
  Batch kept = {{OnPolicy(1, 3), OnPolicy(0, 4), OnPolicy(0, 5), OnPolicy(1, 2)}};
  kept[0][1].logp_old[1] += 0.1f;  // off-policy, so the loss is not only -A
  Batch with_dropped = {{OnPolicy(1, 6), OnPolicy(1, 7), OnPolicy(1, 3), OnPolicy(1, 9)}, kept[0]};
  for (Batch* b : {&kept, &with_dropped}) {
    for (auto& g : *b) {
      for (auto& c : g) c.logp_ref = std::vector<float>(c.logp.size(), -1.0f);
    }
  }
  GrpoOptions o;
  o.drop_equal_reward_groups = true;
  o.kl_coef = 0.04;  // a kept equal group would still add KL gradient; a dropped one must not
  GrpoResult r = MustLoss(with_dropped, o);
  ASSERT_EQ(r.dlogp.size(), 8u);
  EXPECT_EQ(r.dropped_groups, std::vector<int>{0});
  EXPECT_EQ(r.metrics.num_dropped_groups, 1);
  for (int i = 0; i < 4; ++i) {
    for (float d : r.dlogp[i]) EXPECT_EQ(d, 0.0f);
    EXPECT_EQ(r.advantages[i], 0.0);
  }
  // The dropped group leaves the token-mean denominator: the rest equals the batch without it.
  GrpoResult ref = MustLoss(kept, o);
  EXPECT_EQ(r.loss, ref.loss);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(r.dlogp[4 + i], ref.dlogp[i]);
  EXPECT_EQ(r.metrics.num_tokens, ref.metrics.num_tokens);

  // Every group dropped: nothing to learn, but not an error.
  GrpoResult none = MustLoss({with_dropped[0]}, o);
  EXPECT_EQ(none.loss, 0.0);
  EXPECT_EQ(none.metrics.num_tokens, 0);
}

TEST(GrpoLossTest, TisWeightOneLeavesLossUnchanged) {
  Batch batch = {{OnPolicy(1, 3), OnPolicy(0, 4), OnPolicy(0.5, 5)}};
  batch[0][0].logp_old[0] -= 0.4f;
  batch[0][2].logp_old[2] += 0.3f;
  // flywheel's rollout logprobs equal the trainer's bitwise, so w = min(exp(0), C) = 1.
  for (auto& c : batch[0]) c.logp_rollout = c.logp_old;
  GrpoOptions off;
  off.clip_eps_high = 0.28;
  GrpoOptions on = off;
  on.tis_cap = 2.0;
  GrpoResult a = MustLoss(batch, off), b = MustLoss(batch, on);
  EXPECT_EQ(a.loss, b.loss);
  EXPECT_EQ(a.dlogp, b.dlogp);
}

TEST(GrpoLossTest, BadInputsAreInvalidArgument) {
  auto code = [](const Batch& b, const GrpoOptions& o) {
    return GrpoLoss(View(b), o).status().code();
  };
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  const Batch good = {{OnPolicy(1, 3), OnPolicy(0, 4)}};
  GrpoOptions o;
  ASSERT_EQ(code(good, o), absl::StatusCode::kOk);

  Batch b = good;
  b[0][1].logp_old.pop_back();
  EXPECT_EQ(code(b, o), kInvalid) << "logp_old shorter than logp";
  b = good;
  b[0][0].mask.push_back(1);
  EXPECT_EQ(code(b, o), kInvalid) << "mask longer than logp";
  b = good;
  b[0][0].logp[1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(code(b, o), kInvalid) << "NaN logprob";
  b = good;
  b[0][0].logp_old[0] = -std::numeric_limits<float>::infinity();
  EXPECT_EQ(code(b, o), kInvalid) << "infinite logprob";
  b = good;
  b[0][0].reward = std::nan("");
  EXPECT_EQ(code(b, o), kInvalid) << "NaN reward";
  EXPECT_EQ(code({{OnPolicy(1, 3)}}, o), kInvalid) << "G = 1 with std normalisation";
  EXPECT_EQ(code({}, o), kInvalid) << "no groups";
  EXPECT_EQ(code({{}}, o), kInvalid) << "empty group";

  GrpoOptions kl = o;
  kl.kl_coef = 0.1;
  EXPECT_EQ(code(good, kl), kInvalid) << "kl_coef > 0 without logp_ref";
  GrpoOptions tis = o;
  tis.tis_cap = 2;
  EXPECT_EQ(code(good, tis), kInvalid) << "tis_cap without logp_rollout";
  GrpoOptions c = o;
  c.aggregation = LossAggregation::kConstant;
  EXPECT_EQ(code(good, c), kInvalid) << "constant aggregation without a normaliser";
  GrpoOptions eps = o;
  eps.clip_eps_low = 1.0;
  EXPECT_EQ(code(good, eps), kInvalid) << "clip_eps_low = 1 makes the lower bound 0";

  // Without std normalisation a singleton group is fine (A = 0).
  GrpoOptions dr = o;
  dr.advantage.normalize_by_std = false;
  EXPECT_EQ(code({{OnPolicy(1, 3)}}, dr), absl::StatusCode::kOk);
}

// Each policy loss's rules, and the losses' gradients where they can be worked out by hand.
TEST(GrpoLossTest, RecentLossesOnPolicyAndTheirRules) {
  // On-policy the ratio (token or sequence) is 1: CISPO's weight is 1 and GSPO's sequence ratio
  // is 1, so every valid token's gradient is -A over the aggregation's divisor.
  Batch b = {{OnPolicy(1.0, 2), OnPolicy(0.0, 4)}};
  GrpoOptions cispo;
  cispo.policy_loss = PolicyLoss::kCispo;
  cispo.advantage.normalize_by_std = false;  // A = +0.5, -0.5
  const GrpoResult c = MustLoss(b, cispo);
  for (float g : c.dlogp[0]) EXPECT_FLOAT_EQ(g, -0.5f / 6);  // token-mean over 6 tokens
  for (float g : c.dlogp[1]) EXPECT_FLOAT_EQ(g, 0.5f / 6);
  GrpoOptions gspo = cispo;
  gspo.policy_loss = PolicyLoss::kGspo;
  gspo.aggregation = LossAggregation::kSeqMeanTokenMean;
  const GrpoResult g = MustLoss(b, gspo);
  for (float x : g.dlogp[0]) EXPECT_FLOAT_EQ(x, -0.5f / (2 * 2));  // n_i = 2, B' = 2
  for (float x : g.dlogp[1]) EXPECT_FLOAT_EQ(x, 0.5f / (4 * 2));

  auto problems = [](GrpoOptions o) { return GrpoOptionsProblems(o).size(); };
  GrpoOptions bad = gspo;
  bad.aggregation = LossAggregation::kTokenMean;  // GSPO's ratio is per sequence
  EXPECT_EQ(problems(bad), 1u);
  bad = GrpoOptions{};
  bad.dual_clip_c = 0.5;  // must exceed 1
  EXPECT_EQ(problems(bad), 1u);
  bad.dual_clip_c = 3.0;
  bad.policy_loss = PolicyLoss::kCispo;  // dual clip is PPO's
  EXPECT_EQ(problems(bad), 1u);
  GrpoOptions wide_cispo;
  wide_cispo.policy_loss = PolicyLoss::kCispo;
  wide_cispo.clip_eps_low = 1.0;  // no lower bound on the weight: allowed for CISPO only
  EXPECT_EQ(problems(wide_cispo), 0u);
  wide_cispo.policy_loss = PolicyLoss::kPpo;
  EXPECT_EQ(problems(wide_cispo), 1u);
  EXPECT_FALSE(ParsePolicyLoss("grpo").ok());
  EXPECT_FALSE(ParseKlEstimator("k4").ok());
}

// ---------------------------------------------------------------------------------------------
// PyTorch reference comparison.

const char* AggName(LossAggregation m) {
  switch (m) {
    case LossAggregation::kTokenMean:
      return "token-mean";
    case LossAggregation::kSeqMeanTokenMean:
      return "seq-mean-token-mean";
    case LossAggregation::kConstant:
      return "constant";
  }
  return "";
}

const char* PolicyLossName(PolicyLoss p) {
  switch (p) {
    case PolicyLoss::kPpo:
      return "ppo";
    case PolicyLoss::kGspo:
      return "gspo";
    case PolicyLoss::kCispo:
      return "cispo";
  }
  return "";
}

const char* KlName(KlEstimator k) {
  switch (k) {
    case KlEstimator::kK1:
      return "k1";
    case KlEstimator::kK2:
      return "k2";
    case KlEstimator::kK3:
      return "k3";
  }
  return "";
}

// 2-3 groups of 4 completions, lengths 3-9, some masked tokens. logp_old is logp shifted by
// N(0, 0.35) so ratios fall on both sides of [0.8, 1.28] and both clip branches activate.
Batch RandomBatch(uint64_t seed, bool ref, bool rollout) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> ngroups(2, 3), len(3, 9), reward(0, 3), coin(0, 5);
  std::uniform_real_distribution<float> lp(-4.0f, -0.05f);
  std::normal_distribution<float> shift(0.0f, 0.35f), ref_shift(0.0f, 0.5f);
  Batch batch(ngroups(rng));
  for (auto& group : batch) {
    for (int i = 0; i < 4; ++i) {
      Completion c;
      c.reward = reward(rng) * 0.5;  // a few equal rewards per group: exercises ties in std
      const int t = len(rng);
      for (int k = 0; k < t; ++k) {
        c.logp.push_back(lp(rng));
        c.logp_old.push_back(c.logp.back() + shift(rng));
        if (ref) c.logp_ref.push_back(c.logp.back() + ref_shift(rng));
        if (rollout) c.logp_rollout.push_back(c.logp_old.back() + shift(rng));
        c.mask.push_back(coin(rng) != 0);  // ~1 in 6 tokens masked
      }
      group.push_back(std::move(c));
    }
  }
  return batch;
}

nlohmann::json ToJson(const Batch& batch, const GrpoOptions& o) {
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& g : batch) {
    nlohmann::json group = nlohmann::json::array();
    for (const Completion& c : g) {
      nlohmann::json j = {
          {"reward", c.reward}, {"logp", c.logp}, {"logp_old", c.logp_old}, {"mask", c.mask}};
      if (!c.logp_ref.empty()) j["logp_ref"] = c.logp_ref;
      if (!c.logp_rollout.empty()) j["logp_rollout"] = c.logp_rollout;
      group.push_back(std::move(j));
    }
    groups.push_back(std::move(group));
  }
  nlohmann::json options = {{"norm_by_std", o.advantage.normalize_by_std},
                            {"std_eps", o.advantage.std_eps},
                            {"clip_eps_low", o.clip_eps_low},
                            {"clip_eps_high", o.clip_eps_high},
                            {"kl_coef", o.kl_coef},
                            {"aggregation", AggName(o.aggregation)},
                            {"constant_normalizer", o.constant_normalizer},
                            {"drop_equal_reward_groups", o.drop_equal_reward_groups},
                            {"tis_cap", o.tis_cap},
                            {"policy_loss", PolicyLossName(o.policy_loss)},
                            {"dual_clip_c", o.dual_clip_c},
                            {"kl_estimator", KlName(o.kl_estimator)}};
  return {{"options", options}, {"groups", groups}};
}

struct Case {
  std::string name;
  Batch batch;
  GrpoOptions options;
};

std::vector<Case> ReferenceCases() {
  std::vector<Case> cases;
  uint64_t seed = 1;
  for (LossAggregation agg : {LossAggregation::kTokenMean, LossAggregation::kSeqMeanTokenMean,
                              LossAggregation::kConstant}) {
    for (bool norm : {true, false}) {
      for (bool higher : {false, true}) {
        for (bool kl : {false, true}) {
          Case c;
          c.name = std::string(AggName(agg)) + (norm ? " std" : " no-std") +
                   (higher ? " clip 0.2/0.28" : " clip 0.2/0.2") + (kl ? " kl" : " no-kl");
          c.options.aggregation = agg;
          c.options.constant_normalizer = 3 * 4 * 9;  // groups x G x max tokens
          c.options.advantage.normalize_by_std = norm;
          c.options.clip_eps_high = higher ? 0.28 : 0.2;
          c.options.kl_coef = kl ? 0.04 : 0.0;
          c.batch = RandomBatch(seed++, kl, false);
          cases.push_back(std::move(c));
        }
      }
    }
  }
  // TIS with weights != 1 (some above the cap).
  for (LossAggregation agg : {LossAggregation::kTokenMean, LossAggregation::kSeqMeanTokenMean}) {
    Case c;
    c.name = std::string(AggName(agg)) + " tis 1.2";
    c.options.aggregation = agg;
    c.options.tis_cap = 1.2;
    c.options.kl_coef = 0.04;
    c.batch = RandomBatch(seed++, true, true);
    cases.push_back(std::move(c));
  }
  // The recent losses: GSPO (sequence ratio, seq-mean-token-mean, clip 3e-4 / 4e-4 as in its
  // paper, so most sequences clip), CISPO (clipped weight in [0, 4] and a tight [0.8, 1.2]),
  // dual clip, and the k1 / k2 KL estimators.
  {
    Case c;
    c.name = "gspo";
    c.options.policy_loss = PolicyLoss::kGspo;
    c.options.aggregation = LossAggregation::kSeqMeanTokenMean;
    c.options.clip_eps_low = 3e-4;
    c.options.clip_eps_high = 4e-4;
    c.options.kl_coef = 0.04;
    c.batch = RandomBatch(seed++, true, false);
    cases.push_back(std::move(c));
    Case wide;  // a wide range, so that the unclipped sequence gradient is exercised too
    wide.name = "gspo wide";
    wide.options = cases.back().options;
    wide.options.clip_eps_low = 0.3;
    wide.options.clip_eps_high = 0.4;
    wide.batch = RandomBatch(seed++, true, false);
    cases.push_back(std::move(wide));
  }
  for (double low : {1.0, 0.2}) {
    Case c;
    c.name = absl::StrCat("cispo low ", low);
    c.options.policy_loss = PolicyLoss::kCispo;
    c.options.clip_eps_low = low;
    c.options.clip_eps_high = low == 1.0 ? 3.0 : 0.2;
    c.batch = RandomBatch(seed++, false, false);
    cases.push_back(std::move(c));
  }
  {
    Case c;
    c.name = "dual clip 1.05";
    c.options.dual_clip_c = 1.05;  // low enough that the shifted logp_old exceeds it
    c.batch = RandomBatch(seed++, false, false);
    cases.push_back(std::move(c));
  }
  for (KlEstimator k : {KlEstimator::kK1, KlEstimator::kK2}) {
    Case c;
    c.name = std::string("kl ") + KlName(k);
    c.options.kl_coef = 0.1;
    c.options.kl_estimator = k;
    c.batch = RandomBatch(seed++, true, false);
    cases.push_back(std::move(c));
  }
  // Dynamic sampling with an equal-reward group, plus an all-masked completion (it must leave
  // seq-mean's sequence count) and a KL clamp (k3 > 10) and log-ratio clamp (> 20).
  for (LossAggregation agg : {LossAggregation::kTokenMean, LossAggregation::kSeqMeanTokenMean}) {
    Case c;
    c.name = std::string(AggName(agg)) + " drop + edge";
    c.options.aggregation = agg;
    c.options.drop_equal_reward_groups = true;
    c.options.kl_coef = 0.04;
    c.batch = RandomBatch(seed++, true, false);
    for (auto& comp : c.batch[0]) comp.reward = 1.0;
    c.batch[1][0].mask.assign(c.batch[1][0].mask.size(), 0);
    c.batch[1][1].logp_ref[0] = c.batch[1][1].logp[0] + 3.0f;  // k3 = e^3 - 4 > 10
    c.batch[1][1].mask[0] = 1;
    c.batch[1][2].logp_old[1] = c.batch[1][2].logp[1] - 25.0f;  // log-ratio clamped at 20
    c.batch[1][2].mask[1] = 1;
    cases.push_back(std::move(c));
  }
  return cases;
}

TEST(GrpoLossReferenceTest, MatchesPyTorch) {
  const std::vector<Case> cases = ReferenceCases();
  nlohmann::json inp = {{"cases", nlohmann::json::array()}};
  for (const Case& c : cases) inp["cases"].push_back(ToJson(c.batch, c.options));
  auto ref_out = flywheel::testing::RunReferenceScript("grpo_ref.py", inp);
  ASSERT_TRUE(ref_out.ok()) << ref_out.status();
  const nlohmann::json& out = *ref_out;
  ASSERT_EQ(out["results"].size(), cases.size());

  int64_t clipped_low = 0, clipped_high = 0, compared = 0;
  for (size_t k = 0; k < cases.size(); ++k) {
    SCOPED_TRACE(cases[k].name);
    const nlohmann::json& ref = out["results"][k];
    absl::StatusOr<GrpoResult> r = GrpoLoss(View(cases[k].batch), cases[k].options);
    ASSERT_TRUE(r.ok()) << r.status();
    // Both sides are float64 on the same float32 inputs; they differ only in summation order and
    // libm vs torch exp (each ~1 ulp), over < 100 terms of size <= ~10 (k3 is capped at 10), so
    // 1e-12 relative is ~100x the expected error and far below any formula mistake.
    const double ref_loss = ref["loss"];
    EXPECT_NEAR(r->loss, ref_loss, 1e-12 * std::max(1.0, std::abs(ref_loss)));
    const std::vector<double> ref_adv = ref["advantages"];
    ASSERT_EQ(r->advantages.size(), ref_adv.size());
    for (size_t i = 0; i < ref_adv.size(); ++i) {
      EXPECT_NEAR(r->advantages[i], ref_adv[i], 1e-12 * std::max(1.0, std::abs(ref_adv[i])));
    }
    ASSERT_EQ(r->dlogp.size(), ref["dlogp"].size());
    for (size_t i = 0; i < r->dlogp.size(); ++i) {
      const std::vector<double> ref_d = ref["dlogp"][i];
      ASSERT_EQ(r->dlogp[i].size(), ref_d.size());
      for (size_t t = 0; t < ref_d.size(); ++t) {
        // dlogp is returned as float32 (what Transformer::Backward takes): rounding to nearest is
        // within 2^-24 ~ 6e-8 relative, so 1e-7 relative; exact zeros (masked, clipped) must
        // match exactly, which the 1e-30 floor keeps.
        EXPECT_NEAR(r->dlogp[i][t], ref_d[t], 1e-7 * std::abs(ref_d[t]) + 1e-30)
            << "completion " << i << " token " << t;
        ++compared;
      }
    }
    clipped_low += std::llround(r->metrics.clip_frac_low * r->metrics.num_tokens);
    clipped_high += std::llround(r->metrics.clip_frac_high * r->metrics.num_tokens);
  }
  // The random batches are only useful if both clip branches were exercised.
  EXPECT_GT(clipped_low, 0);
  EXPECT_GT(clipped_high, 0);
  std::printf("compared %lld gradients over %zu cases; clipped low %lld, high %lld tokens\n",
              static_cast<long long>(compared), cases.size(), static_cast<long long>(clipped_low),
              static_cast<long long>(clipped_high));
}

}  // namespace
}  // namespace flywheel::learner
