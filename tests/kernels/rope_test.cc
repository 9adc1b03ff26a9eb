// RoPE: the table against double cos/sin, forward against a double reference, and backward as the
// inverse rotation (by finite differences and as forward∘backward = identity).
#include "common/kernels/cpu/rope.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "tests/kernels/grad_check.h"

namespace flywheel::kernels {
namespace {

using testing::AddedGradient;
using testing::ExpectGradientMatches;
using testing::ExpectNear;
using testing::Project;
using testing::RandomVector;

constexpr double kTheta = 10000.0;

TEST(RopeTest, TableMatchesDoubleCosSin) {
  const int64_t P = 4096, D = 32;
  const RopeTable t = rope_table(P, D, kTheta);
  ASSERT_EQ(t.half_dim, D / 2);
  ASSERT_EQ(t.cos.size(), static_cast<size_t>(P * D / 2));
  double max_err_float_angle = 0, max_err_double_angle = 0;
  for (int64_t p = 0; p < P; ++p) {
    for (int64_t i = 0; i < D / 2; ++i) {
      // Hugging Face's float angle: the table is cos/sin of it rounded once (<= 0.5 ulp of a
      // value <= 1, i.e. <= 6e-8).
      const float inv = 1.0f / static_cast<float>(std::pow(kTheta, (2.0f * i) / D));
      const double a = static_cast<float>(p) * inv;
      max_err_float_angle =
          std::max(max_err_float_angle, std::fabs(t.cos[p * D / 2 + i] - std::cos(a)));
      max_err_float_angle =
          std::max(max_err_float_angle, std::fabs(t.sin[p * D / 2 + i] - std::sin(a)));
      // Against the exact angle the float angle is off by up to half an ulp of p·inv_freq.
      const double exact = p * std::pow(kTheta, -2.0 * i / D);
      max_err_double_angle =
          std::max(max_err_double_angle, std::fabs(t.cos[p * D / 2 + i] - std::cos(exact)));
    }
  }
  EXPECT_LE(max_err_float_angle, 6e-8);
  EXPECT_LE(max_err_double_angle, 6e-8 * P);
  EXPECT_EQ(t.cos[0], 1.0f);
  EXPECT_EQ(t.sin[0], 0.0f);
}

TEST(RopeTest, ForwardMatchesDoubleReference) {
  const int64_t N = 5, H = 3, D = 16, P = 64;
  const RopeTable table = rope_table(P, D, kTheta);
  const auto inp = RandomVector(N * H * D, 1);
  const std::vector<int32_t> pos = {0, 1, 17, 63, 5};
  std::vector<float> out(N * H * D);
  rope_forward(out.data(), inp.data(), pos.data(), table, N, H, D);
  std::vector<double> ref(N * H * D);
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t h = 0; h < H; ++h) {
      const float* x = inp.data() + (n * H + h) * D;
      double* y = ref.data() + (n * H + h) * D;
      for (int64_t i = 0; i < D / 2; ++i) {
        const double c = table.cos[pos[n] * D / 2 + i], s = table.sin[pos[n] * D / 2 + i];
        y[i] = x[i] * c - x[i + D / 2] * s;
        y[i + D / 2] = x[i + D / 2] * c + x[i] * s;
      }
    }
  }
  // Two products and a sum in fp32 on values <= 1.
  ExpectNear("rope", out.data(), ref, 2e-7, 1e-6);
  // In place.
  auto inplace = inp;
  rope_forward(inplace.data(), inplace.data(), pos.data(), table, N, H, D);
  EXPECT_EQ(inplace, out);
}

TEST(RopeTest, BackwardMatchesFiniteDifferences) {
  const int64_t N = 3, H = 2, D = 8, P = 16;
  const RopeTable table = rope_table(P, D, kTheta);
  auto inp = RandomVector(N * H * D, 11);
  const std::vector<int32_t> pos = {3, 0, 15};
  const auto r = RandomVector(N * H * D, 12);
  std::vector<float> out(N * H * D);
  auto loss = [&] {
    rope_forward(out.data(), inp.data(), pos.data(), table, N, H, D);
    return Project(out.data(), r);
  };
  const auto dinp0 = RandomVector(N * H * D, 13);
  auto dinp = dinp0;
  rope_backward(dinp.data(), r.data(), pos.data(), table, N, H, D);
  ExpectGradientMatches("dinp", &inp, AddedGradient(dinp, dinp0), loss);
}

TEST(RopeTest, BackwardInvertsForward) {
  const int64_t N = 4, H = 2, D = 32, P = 2048;
  const RopeTable table = rope_table(P, D, kTheta);
  const auto inp = RandomVector(N * H * D, 21);
  const std::vector<int32_t> pos = {0, 100, 1000, 2047};
  std::vector<float> rotated(N * H * D), back(N * H * D, 0.0f);
  rope_forward(rotated.data(), inp.data(), pos.data(), table, N, H, D);
  rope_backward(back.data(), rotated.data(), pos.data(), table, N, H, D);
  // Rᵀ·R = I up to the table's rounding (cos² + sin² = 1 within ~1e-7) and fp32 round-off.
  ExpectNear("Rᵀ·R·x", back.data(), std::vector<double>(inp.begin(), inp.end()), 5e-7, 1e-6);
}

}  // namespace
}  // namespace flywheel::kernels
