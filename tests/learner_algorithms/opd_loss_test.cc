// Tests of the on-policy distillation loss: hand-checkable cases, input validation, and a
// comparison of loss, advantages and every dL/dlogp against the PyTorch reference
// tests/reference/opd_ref.py over both losses x discount x reward mixing.
#include "learner/algorithms/opd_loss.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/util/reference_script.h"

namespace flywheel::learner {
namespace {

// Owns the arrays that DistillInput's spans borrow.
struct Completion {
  double reward = 0;
  std::vector<float> logp, logp_old, logp_teacher;
  std::vector<uint8_t> mask;
};
using Batch = std::vector<std::vector<Completion>>;

std::vector<DistillGroup> View(const Batch& batch) {
  std::vector<DistillGroup> groups;
  for (const auto& g : batch) {
    DistillGroup& group = groups.emplace_back();
    for (const Completion& c : g) {
      group.push_back({c.reward, c.logp, c.logp_old, c.logp_teacher, c.mask});
    }
  }
  return groups;
}

// On-policy (logp == logp_old), every token valid, teacher = student + shift per token.
Completion Make(std::vector<float> logp, std::vector<float> teacher_shift, double reward = 0) {
  Completion c;
  c.reward = reward;
  c.logp = logp;
  c.logp_old = logp;
  for (size_t t = 0; t < logp.size(); ++t) c.logp_teacher.push_back(logp[t] + teacher_shift[t]);
  c.mask.assign(logp.size(), 1);
  return c;
}

TEST(OpdLossTest, TeacherPreferredTokensGetPositiveAdvantage) {
  // Token 0: the teacher likes it more than the student (rkl = -1, A = +1); token 1: less
  // (rkl = +0.5, A = -0.5). On-policy, the importance-sampling gradient is -A / N per token.
  Batch b = {{Make({-2.0f, -1.0f}, {1.0f, -0.5f})}};
  auto r = OpdLoss(View(b), OpdOptions{});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_DOUBLE_EQ(r->advantages[0][0], 1.0);
  EXPECT_DOUBLE_EQ(r->advantages[0][1], -0.5);
  EXPECT_FLOAT_EQ(r->dlogp[0][0], -0.5f);  // -A / 2
  EXPECT_FLOAT_EQ(r->dlogp[0][1], 0.25f);
  EXPECT_DOUBLE_EQ(r->teacher_kl, (-1.0 + 0.5) / 2);
  EXPECT_EQ(r->num_tokens, 2);
}

TEST(OpdLossTest, StudentEqualToTeacherHasNothingToLearn) {
  Batch b = {{Make({-0.3f, -2.0f, -1.0f}, {0, 0, 0}), Make({-1.5f}, {0})}};
  auto r = OpdLoss(View(b), OpdOptions{});
  ASSERT_TRUE(r.ok()) << r.status();
  for (const auto& d : r->dlogp) {
    for (float x : d) EXPECT_EQ(x, 0.0f);
  }
  EXPECT_EQ(r->teacher_kl, 0.0);
}

TEST(OpdLossTest, DiscountSumsLaterTokensOverValidOnes) {
  Completion c = Make({-1, -1, -1, -1}, {1, 0, 2, 4});  // a_t = 1, 0, 2, 4
  c.mask[2] = 0;                                        // masked: neither adds nor decays
  OpdOptions o;
  o.kl_discount = 0.5;
  auto r = OpdLoss(View({{c}}), o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_DOUBLE_EQ(r->advantages[0][3], 4.0);
  EXPECT_DOUBLE_EQ(r->advantages[0][2], 0.0);
  EXPECT_DOUBLE_EQ(r->advantages[0][1], 0.0 + 0.5 * 4.0);
  EXPECT_DOUBLE_EQ(r->advantages[0][0], 1.0 + 0.5 * 2.0);
}

TEST(OpdLossTest, RewardIsCentredWithinItsGroup) {
  OpdOptions o;
  o.kl_coef = 0.0;
  o.reward_weight = 2.0;
  Batch b = {{Make({-1}, {0}, 1.0), Make({-1}, {0}, 0.0)}, {Make({-1}, {0}, 5.0)}};
  auto r = OpdLoss(View(b), o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_DOUBLE_EQ(r->advantages[0][0], 2.0 * 0.5);
  EXPECT_DOUBLE_EQ(r->advantages[1][0], 2.0 * -0.5);
  EXPECT_DOUBLE_EQ(r->advantages[2][0], 0.0);  // a group of one has no baseline to beat
}

TEST(OpdLossTest, BadInputIsInvalidArgument) {
  auto code = [](const Batch& b, const OpdOptions& o) {
    return OpdLoss(View(b), o).status().code();
  };
  const Completion good = Make({-1, -2}, {0.5f, -0.5f});
  EXPECT_EQ(code({}, {}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code({{}}, {}), absl::StatusCode::kInvalidArgument);
  Completion short_teacher = good;
  short_teacher.logp_teacher.pop_back();
  EXPECT_EQ(code({{short_teacher}}, {}), absl::StatusCode::kInvalidArgument);
  Completion nan_teacher = good;
  nan_teacher.logp_teacher[0] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(code({{nan_teacher}}, {}), absl::StatusCode::kInvalidArgument);
  Completion inf_reward = good;
  inf_reward.reward = std::numeric_limits<double>::infinity();
  EXPECT_EQ(code({{inf_reward}}, {}), absl::StatusCode::kInvalidArgument);
  OpdOptions bad;
  bad.kl_discount = 1.5;
  EXPECT_EQ(code({{good}}, bad), absl::StatusCode::kInvalidArgument);
  bad = OpdOptions{};
  bad.kl_coef = 0;
  EXPECT_EQ(code({{good}}, bad), absl::StatusCode::kInvalidArgument);  // nothing to learn
  EXPECT_EQ(ParseDistillLoss("reinforce").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpdOptionsProblems(OpdOptions{}).size(), 0u);
}

// ---------------------------------------------------------------------------------------------
// PyTorch reference comparison.

// 2-3 groups of 3 completions, lengths 2-8, some masked tokens. The sampler's logprobs are the
// learner's shifted by N(0, 0.3) (so PPO clips on both sides), the teacher's by N(0, 0.8).
Batch RandomBatch(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> ngroups(2, 3), len(2, 8), reward(0, 2), coin(0, 5);
  std::uniform_real_distribution<float> lp(-4.0f, -0.05f);
  std::normal_distribution<float> shift(0.0f, 0.3f), teacher(0.0f, 0.8f);
  Batch batch(ngroups(rng));
  for (auto& group : batch) {
    for (int i = 0; i < 3; ++i) {
      Completion c;
      c.reward = reward(rng) * 0.5;
      const int t = len(rng);
      for (int k = 0; k < t; ++k) {
        c.logp.push_back(lp(rng));
        c.logp_old.push_back(c.logp.back() + shift(rng));
        c.logp_teacher.push_back(c.logp_old.back() + teacher(rng));
        c.mask.push_back(coin(rng) != 0);
      }
      group.push_back(std::move(c));
    }
  }
  return batch;
}

nlohmann::json ToJson(const Batch& batch, const OpdOptions& o) {
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& g : batch) {
    nlohmann::json group = nlohmann::json::array();
    for (const Completion& c : g) {
      group.push_back({{"reward", c.reward},
                       {"logp", c.logp},
                       {"logp_old", c.logp_old},
                       {"logp_teacher", c.logp_teacher},
                       {"mask", c.mask}});
    }
    groups.push_back(std::move(group));
  }
  return {{"options",
           {{"kl_coef", o.kl_coef},
            {"kl_discount", o.kl_discount},
            {"reward_weight", o.reward_weight},
            {"reward_std_norm", o.reward_std_norm},
            {"loss", o.loss == DistillLoss::kPpo ? "ppo" : "importance_sampling"},
            {"clip_eps_low", o.clip_eps_low},
            {"clip_eps_high", o.clip_eps_high}}},
          {"groups", groups}};
}

struct Case {
  std::string name;
  Batch batch;
  OpdOptions options;
};

std::vector<Case> ReferenceCases() {
  std::vector<Case> cases;
  uint64_t seed = 1;
  for (DistillLoss loss : {DistillLoss::kImportanceSampling, DistillLoss::kPpo}) {
    for (double discount : {0.0, 0.9}) {
      for (double reward_weight : {0.0, 0.5}) {
        Case c;
        c.name = std::string(loss == DistillLoss::kPpo ? "ppo" : "is") + " discount " +
                 std::to_string(discount) + " reward " + std::to_string(reward_weight);
        c.options.loss = loss;
        c.options.kl_coef = 0.7;
        c.options.kl_discount = discount;
        c.options.reward_weight = reward_weight;
        c.options.clip_eps_high = 0.28;
        c.batch = RandomBatch(seed++);
        cases.push_back(std::move(c));
      }
    }
  }
  // GRPO-normalised reward (OPSD as GRPO plus the KL to the privileged self).
  for (DistillLoss loss : {DistillLoss::kImportanceSampling, DistillLoss::kPpo}) {
    Case c;
    c.name = std::string(loss == DistillLoss::kPpo ? "ppo" : "is") + " reward std-normalised";
    c.options.loss = loss;
    c.options.kl_coef = 0.1;
    c.options.reward_weight = 1.0;
    c.options.reward_std_norm = true;
    c.batch = RandomBatch(seed++);
    cases.push_back(std::move(c));
  }
  // An all-masked completion, a log-ratio past the clamp (no gradient) and a group of one.
  Case edge;
  edge.name = "edges";
  edge.options.reward_weight = 1.0;
  edge.batch = RandomBatch(seed++);
  edge.batch[0][0].mask.assign(edge.batch[0][0].mask.size(), 0);
  edge.batch[1][1].logp_old[0] = edge.batch[1][1].logp[0] - 25.0f;
  edge.batch[1][1].mask[0] = 1;
  edge.batch.push_back({edge.batch[1][2]});
  cases.push_back(std::move(edge));
  return cases;
}

TEST(OpdLossReferenceTest, MatchesPyTorch) {
  const std::vector<Case> cases = ReferenceCases();
  nlohmann::json inp = {{"cases", nlohmann::json::array()}};
  for (const Case& c : cases) inp["cases"].push_back(ToJson(c.batch, c.options));
  auto ref_out = flywheel::testing::RunReferenceScript("opd_ref.py", inp);
  ASSERT_TRUE(ref_out.ok()) << ref_out.status();
  const nlohmann::json& out = *ref_out;
  ASSERT_EQ(out["results"].size(), cases.size());

  int64_t compared = 0;
  double clipped = 0;
  for (size_t k = 0; k < cases.size(); ++k) {
    SCOPED_TRACE(cases[k].name);
    const nlohmann::json& ref = out["results"][k];
    absl::StatusOr<OpdResult> r = OpdLoss(View(cases[k].batch), cases[k].options);
    ASSERT_TRUE(r.ok()) << r.status();
    // Both sides are float64 on the same float32 inputs and differ only in summation order and
    // libm vs torch exp (each ~1 ulp) over < 100 terms of size <= ~10, so 1e-12 relative is ~100x
    // the expected error and far below any formula mistake.
    const double ref_loss = ref["loss"];
    EXPECT_NEAR(r->loss, ref_loss, 1e-12 * std::max(1.0, std::abs(ref_loss)));
    const double ref_kl = ref["teacher_kl"];
    EXPECT_NEAR(r->teacher_kl, ref_kl, 1e-12 * std::max(1.0, std::abs(ref_kl)));
    ASSERT_EQ(r->dlogp.size(), ref["dlogp"].size());
    for (size_t i = 0; i < r->dlogp.size(); ++i) {
      const std::vector<double> ref_d = ref["dlogp"][i];
      const std::vector<double> ref_a = ref["advantages"][i];
      ASSERT_EQ(r->dlogp[i].size(), ref_d.size());
      for (size_t t = 0; t < ref_d.size(); ++t) {
        EXPECT_NEAR(r->advantages[i][t], ref_a[t], 1e-12 * std::max(1.0, std::abs(ref_a[t])));
        // dlogp is float32 (what Transformer::Backward takes): rounding is within 2^-24 ~ 6e-8
        // relative, so 1e-7 relative; exact zeros (masked, clipped) must match exactly.
        EXPECT_NEAR(r->dlogp[i][t], ref_d[t], 1e-7 * std::abs(ref_d[t]) + 1e-30)
            << "completion " << i << " token " << t;
        ++compared;
      }
    }
    if (cases[k].options.loss == DistillLoss::kPpo) clipped += r->clip_frac * r->num_tokens;
  }
  // The random batches are only useful if PPO's clip was exercised.
  EXPECT_GT(clipped, 0);
  std::printf("compared %lld gradients over %zu cases\n", static_cast<long long>(compared),
              cases.size());
}

}  // namespace
}  // namespace flywheel::learner
