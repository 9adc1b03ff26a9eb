// The sampler: greedy, determinism in (seed, index, position), truncation rules, the empirical
// distribution, and both reported logprobs.
#include "rollout_server/sampler.h"

#include <cmath>
#include <map>
#include <set>

#include "common/kernels/cpu/logprobs.h"
#include "gtest/gtest.h"

namespace flywheel {
namespace {

using rollout::Sampler;
using rollout::SamplingOptions;

const std::vector<float> kLogits = {1.0f, 3.0f, 0.5f, 3.0f, -2.0f, 2.0f, 0.0f, -1.0f};

std::vector<double> Softmax(const std::vector<float>& l, double temperature) {
  std::vector<double> p(l.size());
  double mx = *std::max_element(l.begin(), l.end()), sum = 0;
  for (size_t i = 0; i < l.size(); ++i) sum += p[i] = std::exp((l[i] - mx) / temperature);
  for (auto& x : p) x /= sum;
  return p;
}

TEST(SamplerTest, UniformDependsOnlyOnSeedIndexPosition) {
  EXPECT_EQ(rollout::SampleUniform(1, 2, 3), rollout::SampleUniform(1, 2, 3));
  std::set<double> seen;
  for (uint64_t s = 0; s < 4; ++s)
    for (int i = 0; i < 4; ++i)
      for (int p = 0; p < 4; ++p) {
        double u = rollout::SampleUniform(s, i, p);
        EXPECT_GE(u, 0.0);
        EXPECT_LT(u, 1.0);
        seen.insert(u);
      }
  EXPECT_EQ(seen.size(), 64u);
}

TEST(SamplerTest, GreedyTakesLowestArgmax) {
  Sampler s;
  auto t = s.Sample(kLogits.data(), kLogits.size(), {.temperature = 0}, 0, 0);
  EXPECT_EQ(t.token, 1);  // Ids 1 and 3 tie; the lower wins.
  EXPECT_EQ(t.sampling_logprob, 0.0f);
  float lp;
  kernels::logprobs_forward(&lp, nullptr, nullptr, kLogits.data(), &t.token, 1, kLogits.size(),
                            nullptr);
  EXPECT_EQ(t.logprob, lp);
}

TEST(SamplerTest, EmpiricalDistributionMatchesSoftmax) {
  Sampler s;
  const int kDraws = 40000;
  for (double temperature : {1.0, 0.5}) {
    std::vector<int> counts(kLogits.size(), 0);
    SamplingOptions o{.temperature = static_cast<float>(temperature), .seed = 9};
    for (int i = 0; i < kDraws; ++i)
      counts[s.Sample(kLogits.data(), kLogits.size(), o, 0, i).token]++;
    auto p = Softmax(kLogits, temperature);
    for (size_t v = 0; v < p.size(); ++v) {
      // Binomial std of a frequency is at most sqrt(0.25 / 40000) = 0.0025; 0.012 is ~5 sigma.
      EXPECT_NEAR(counts[v] / static_cast<double>(kDraws), p[v], 0.012)
          << "T=" << temperature << " v=" << v;
    }
  }
}

TEST(SamplerTest, TruncationKeepsOnlyAllowedTokens) {
  Sampler s;
  auto p = Softmax(kLogits, 1.0);
  for (int i = 0; i < 3000; ++i) {
    auto k = s.Sample(kLogits.data(), kLogits.size(), {.top_k = 2, .seed = 1}, 0, i);
    EXPECT_TRUE(k.token == 1 || k.token == 3);
    EXPECT_NEAR(k.sampling_logprob, std::log(0.5), 1e-6);  // Two equal logits left.
    // top_p = 0.8: p sorted = {.376, .376, .138, .051, ...} (ids 1, 3, 5, 0, ...); the
    // cumulative sum first reaches 0.8 at 0.890, so the nucleus is {1, 3, 5}.
    auto tp = s.Sample(kLogits.data(), kLogits.size(), {.top_p = 0.8f, .seed = 2}, 0, i);
    EXPECT_TRUE(tp.token == 1 || tp.token == 3 || tp.token == 5) << tp.token;
    const double kept = p[1] + p[3] + p[5];
    EXPECT_NEAR(tp.sampling_logprob, std::log(p[tp.token] / kept), 1e-5);
    // min_p = 0.3: keep p >= 0.3 * p_max = 0.113: ids 1, 3, 5.
    auto mp = s.Sample(kLogits.data(), kLogits.size(), {.min_p = 0.3f, .seed = 3}, 0, i);
    EXPECT_GE(p[mp.token], 0.3 * p[1]) << mp.token;
  }
}

TEST(SamplerTest, VocabLimitExcludesPaddedRows) {
  Sampler s;
  for (int i = 0; i < 2000; ++i) {
    auto t = s.Sample(kLogits.data(), kLogits.size(), {.seed = 4, .vocab_limit = 3}, 0, i);
    EXPECT_LT(t.token, 3);
    float lp;  // The raw logprob still normalises over every row.
    kernels::logprobs_forward(&lp, nullptr, nullptr, kLogits.data(), &t.token, 1, kLogits.size(),
                              nullptr);
    EXPECT_EQ(t.logprob, lp);
  }
  EXPECT_EQ(
      s.Sample(kLogits.data(), kLogits.size(), {.temperature = 0, .vocab_limit = 3}, 0, 0).token,
      1);
}

TEST(SamplerTest, ValidatesOptions) {
  EXPECT_TRUE(rollout::ValidateSamplingOptions({}).ok());
  EXPECT_FALSE(rollout::ValidateSamplingOptions({.temperature = -1}).ok());
  EXPECT_FALSE(rollout::ValidateSamplingOptions({.temperature = NAN}).ok());
  EXPECT_FALSE(rollout::ValidateSamplingOptions({.top_p = 0}).ok());
  EXPECT_FALSE(rollout::ValidateSamplingOptions({.top_p = 1.01f}).ok());
  EXPECT_FALSE(rollout::ValidateSamplingOptions({.top_k = -1}).ok());
  EXPECT_FALSE(rollout::ValidateSamplingOptions({.min_p = 1}).ok());
}

}  // namespace
}  // namespace flywheel
