// RoPE scaling as real checkpoints write it in config.json: parsing, the round trip through
// ConfigToJson, and the inverse frequencies of each type at the points its formula singles out.
// (The whole model with scaling is checked against PyTorch in golden_test and for cached-decode
// bitwise equality in invariance_test.)
#include "common/model/rope_scaling.h"

#include <cmath>

#include "common/model/config.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/model/test_util.h"

namespace flywheel {
namespace {

using model::RopeScalingType;

// The rope_scaling block of Llama 3.1 8B's config.json.
constexpr char kLlama31Scaling[] = R"({"factor": 8.0, "low_freq_factor": 1.0,
    "high_freq_factor": 4.0, "original_max_position_embeddings": 8192, "rope_type": "llama3"})";

TEST(RopeScalingTest, ParsesLlama31ConfigAndRoundTrips) {
  nlohmann::json j = nlohmann::json::parse(model::ConfigToJson(testing::TinyConfig()));
  j["max_position_embeddings"] = 131072;
  j["rope_theta"] = 500000.0;
  j["rope_scaling"] = nlohmann::json::parse(kLlama31Scaling);
  auto c = model::ParseConfigJson(j.dump());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->rope_scaling.type, RopeScalingType::kLlama3);
  EXPECT_EQ(c->rope_scaling.factor, 8.0);
  EXPECT_EQ(c->rope_scaling.original_max_position_embeddings, 8192);
  auto again = model::ParseConfigJson(model::ConfigToJson(*c));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(model::RopeScalingToJson(again->rope_scaling),
            model::RopeScalingToJson(c->rope_scaling));
  // "type" (older files) and "default" are accepted too.
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  EXPECT_EQ(model::ParseConfigJson(j.dump())->rope_scaling.type, RopeScalingType::kLinear);
  j["rope_scaling"] = {{"rope_type", "default"}};
  EXPECT_EQ(model::ParseConfigJson(j.dump())->rope_scaling.type, RopeScalingType::kNone);
}

TEST(RopeScalingTest, Llama3KeepsShortAndDividesLongWavelengths) {
  auto s = model::ParseRopeScaling(nlohmann::json::parse(kLlama31Scaling), 131072);
  ASSERT_TRUE(s.ok()) << s.status();
  const model::RopeScaling none;
  const auto plain = model::RopeInverseFrequencies(128, 500000.0, none, 131072);
  const auto scaled = model::RopeInverseFrequencies(128, 500000.0, *s, 131072);
  ASSERT_EQ(scaled.size(), 64u);
  int kept = 0, divided = 0, blended = 0;
  for (size_t i = 0; i < scaled.size(); ++i) {
    const double wavelen = 2 * M_PI / plain[i];
    if (wavelen < 8192 / 4.0) {
      EXPECT_EQ(scaled[i], plain[i]) << i;
      ++kept;
    } else if (wavelen > 8192 / 1.0) {
      EXPECT_EQ(scaled[i], plain[i] / 8.0f) << i;
      ++divided;
    } else {
      EXPECT_LT(scaled[i], plain[i]) << i;
      EXPECT_GT(scaled[i], plain[i] / 8.0f) << i;
      ++blended;
    }
  }
  EXPECT_GT(kept, 0);
  EXPECT_GT(divided, 0);
  EXPECT_GT(blended, 0);
  EXPECT_EQ(model::RopeAttentionFactor(*s), 1.0);
}

TEST(RopeScalingTest, LinearAndYarn) {
  const model::RopeScaling none;
  const auto plain = model::RopeInverseFrequencies(16, 10000.0, none, 128);
  const auto linear =
      model::RopeInverseFrequencies(16, 10000.0, testing::TestRopeScaling("linear"), 128);
  for (size_t i = 0; i < plain.size(); ++i) EXPECT_EQ(linear[i], plain[i] / 4.0f);
  // yarn over a 32-position pre-trained context: the fastest frequency extrapolates (kept), the
  // slow ones interpolate (divided by the factor), and cos/sin grow by 0.1 ln 4 + 1.
  const model::RopeScaling yarn = testing::TestRopeScaling("yarn");
  const auto y = model::RopeInverseFrequencies(16, 10000.0, yarn, 128);
  EXPECT_EQ(y[0], plain[0]);
  for (size_t i = 2; i < y.size(); ++i) EXPECT_NEAR(y[i], plain[i] / 4.0f, 1e-6f * plain[i]);
  EXPECT_DOUBLE_EQ(model::RopeAttentionFactor(yarn), 0.1 * std::log(4.0) + 1.0);
  // DeepSeek-V3 style: mscale / mscale_all_dim, and the factor implied by the two contexts.
  auto ds = model::ParseRopeScaling({{"rope_type", "yarn"},
                                     {"original_max_position_embeddings", 4096},
                                     {"mscale", 1.0},
                                     {"mscale_all_dim", 1.0}},
                                    163840);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->factor, 40.0);
  EXPECT_DOUBLE_EQ(model::RopeAttentionFactor(*ds), 1.0);
}

}  // namespace
}  // namespace flywheel
