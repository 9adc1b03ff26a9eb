// The vector helpers the kernels' invariance rests on: Exp accuracy and its scalar twin, and the
// fixed-order dot products.
#include "common/kernels/cpu/vec_math.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "tests/kernels/grad_check.h"

namespace flywheel::kernels::vec {
namespace {

// Error of y against exact e^x in units of the last place of the float result.
double UlpError(float y, float x) {
  const double exact = std::exp(static_cast<double>(x));
  const double ulp = std::ldexp(1.0, std::ilogb(static_cast<float>(exact)) - 23);
  return std::fabs(y - exact) / ulp;
}

TEST(VecMathTest, ExpIsAccurateAndMatchesScalarTwin) {
  // Every 4099th float in the range of normal results (~1e6 samples).
  double worst = 0;
  float worst_x = 0;
  const uint32_t lo = std::bit_cast<uint32_t>(-87.3f), hi = std::bit_cast<uint32_t>(88.7f);
  std::vector<float> xs;
  for (uint32_t b = std::bit_cast<uint32_t>(0.0f); b < hi; b += 4099)
    xs.push_back(std::bit_cast<float>(b));
  for (uint32_t b = std::bit_cast<uint32_t>(-0.0f); b < lo; b += 4099)
    xs.push_back(std::bit_cast<float>(b));
  for (size_t i = 0; i + 8 <= xs.size(); i += 8) {
    float y[8];
    Store(y, Exp(Load(xs.data() + i)));
    for (int l = 0; l < 8; ++l) {
      const float s = ExpScalar(xs[i + l]);
      ASSERT_EQ(std::bit_cast<uint32_t>(s), std::bit_cast<uint32_t>(y[l])) << xs[i + l];
      const double e = UlpError(s, xs[i + l]);
      if (e > worst) worst = e, worst_x = xs[i + l];
    }
  }
  // Measured 1.01 ulp over every float in [-103, 88.7] (stepped by 37); 1.5 leaves headroom and
  // still fails any real regression of the polynomial or the reduction.
  EXPECT_LE(worst, 1.5) << "at x = " << worst_x;
}

TEST(VecMathTest, ExpSpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(ExpScalar(0.0f), 1.0f);
  EXPECT_EQ(ExpScalar(-inf), 0.0f);
  EXPECT_EQ(ExpScalar(inf), inf);
  EXPECT_EQ(ExpScalar(89.0f), inf);
  EXPECT_EQ(ExpScalar(-200.0f), 0.0f);
  EXPECT_TRUE(std::isnan(ExpScalar(std::nanf(""))));
  // Subnormal results are rounded once, like the correctly rounded value.
  EXPECT_EQ(ExpScalar(-100.0f), static_cast<float>(std::exp(-100.0)));
  const float x[8] = {-inf, inf, std::nanf(""), -200.0f, 89.0f, 88.7f, -100.0f, -87.5f};
  float y[8];
  Store(y, Exp(Load(x)));
  for (int l = 0; l < 8; ++l) {
    const float s = ExpScalar(x[l]);
    EXPECT_EQ(0, std::memcmp(&s, &y[l], 4)) << x[l];
  }
}

TEST(VecMathTest, Dot8EqualsDotBitwise) {
  for (int64_t n : {1, 5, 8, 12, 32, 37, 128}) {
    const auto a = testing::RandomVector(n, 1);
    const auto b = testing::RandomVector(8 * n, 2);
    const float* rows[8];
    for (int r = 0; r < 8; ++r) rows[r] = b.data() + r * n;
    float got[8];
    Store(got, Dot8(a.data(), rows, n));
    for (int r = 0; r < 8; ++r) {
      const float want = Dot(a.data(), rows[r], n);
      EXPECT_EQ(0, std::memcmp(&want, &got[r], 4)) << "n=" << n << " row " << r;
      double ref = 0;
      for (int64_t i = 0; i < n; ++i) ref += static_cast<double>(a[i]) * rows[r][i];
      EXPECT_NEAR(want, ref, 1e-6 * n);
    }
  }
}

TEST(VecMathTest, DotLongMatchesDouble) {
  for (int64_t n : {3, 31, 32, 33, 1000}) {
    const auto a = testing::RandomVector(n, 3), b = testing::RandomVector(n, 4);
    double ref = 0;
    for (int64_t i = 0; i < n; ++i) ref += static_cast<double>(a[i]) * b[i];
    // 32 partial sums of n/32 terms each: error ~ (n/32 + 5) ulps of the running magnitude.
    EXPECT_NEAR(DotLong(a.data(), b.data(), n), ref, 1e-7 * (n / 32.0 + 5) * std::sqrt(n));
  }
}

}  // namespace
}  // namespace flywheel::kernels::vec
