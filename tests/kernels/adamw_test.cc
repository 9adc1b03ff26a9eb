// AdamW against a double-precision transcription of torch.optim.AdamW, and gradient clipping
// (thread-count independence, scaling, the disabled and no-op cases).
#include "common/kernels/cpu/adamw.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "common/base/thread_pool.h"
#include "tests/kernels/grad_check.h"

namespace flywheel::kernels {
namespace {

using testing::ExpectNear;
using testing::RandomVector;

TEST(AdamWTest, ThreeStepsMatchTorchFormulaInDouble) {
  for (float wd : {0.0f, 0.1f}) {
    const int64_t n = 1003;  // Not a multiple of 8: the vector tail is exercised.
    AdamWOptions opt;
    opt.lr = 3e-3f;
    opt.weight_decay = wd;
    auto params = RandomVector(n, 1, -2, 2);
    std::vector<float> m(n, 0.0f), v(n, 0.0f);
    std::vector<double> rp(params.begin(), params.end()), rm(n, 0.0), rv(n, 0.0);
    ThreadPool pool(2);
    for (int64_t step = 1; step <= 3; ++step) {
      auto grads = RandomVector(n, 10 + static_cast<uint32_t>(step), -1e-2f, 1e-2f);
      grads[0] = 0.0f;  // v = 0: the update must be 0 (denominator eps), not NaN.
      adamw_update(params.data(), grads.data(), m.data(), v.data(), n, step, opt, &pool);
      const double lr = opt.lr, b1 = opt.beta1, b2 = opt.beta2, eps = opt.eps;
      const double bc1 = 1 - std::pow(b1, step), bc2 = 1 - std::pow(b2, step);
      for (int64_t i = 0; i < n; ++i) {
        const double g = grads[i];
        rp[i] *= 1 - lr * opt.weight_decay;
        rm[i] += (1 - b1) * (g - rm[i]);
        rv[i] = rv[i] * b2 + (1 - b2) * g * g;
        rp[i] -= (lr / bc1) * rm[i] / (std::sqrt(rv[i]) / std::sqrt(bc2) + eps);
      }
    }
    // fp32 storage of p, m, v rounds each step (~6e-8 relative); three steps of a few roundings
    // each stay well inside 1e-6 relative. The update itself (~lr) is checked far more tightly
    // than its own size: an error in the formula moves p by ~1e-3.
    ExpectNear("params", params.data(), rp, 1e-7, 1e-6);
    ExpectNear("m", m.data(), rm, 1e-10, 1e-6);
    ExpectNear("v", v.data(), rv, 1e-14, 1e-6);
    EXPECT_EQ(m[0], m[0]);  // Not NaN.
  }
}

TEST(AdamWTest, ThreadCountIndependent) {
  const int64_t n = 5000;
  const auto p0 = RandomVector(n, 21), g = RandomVector(n, 22);
  std::vector<float> ref;
  for (int threads : {1, 2, 3}) {
    auto pool = std::make_unique<ThreadPool>(threads);
    auto p = p0;
    std::vector<float> m(n, 0.1f), v(n, 0.01f);
    adamw_update(p.data(), g.data(), m.data(), v.data(), n, 7, AdamWOptions{}, pool.get());
    if (ref.empty()) ref = p;
    EXPECT_EQ(0, std::memcmp(p.data(), ref.data(), n * 4)) << threads;
  }
}

TEST(ClipGradNormTest, NormIsThreadCountIndependent) {
  const int64_t n = 100003;  // Several chunks and a partial one.
  const auto g0 = RandomVector(n, 31);
  double ref = 0;
  for (float x : g0) ref += static_cast<double>(x) * x;
  ref = std::sqrt(ref);
  std::vector<float> first;
  double first_norm = 0;
  for (int threads : {1, 2, 3}) {
    auto pool = std::make_unique<ThreadPool>(threads);
    auto g = g0;
    const double norm = clip_grad_norm(g.data(), n, 10.0f, threads == 1 ? nullptr : pool.get());
    EXPECT_NEAR(norm, ref, 1e-12 * ref);  // Double sums of 1e5 terms.
    if (first.empty()) {
      first = g;
      first_norm = norm;
    }
    EXPECT_EQ(0, std::memcmp(&norm, &first_norm, sizeof(double))) << threads;
    EXPECT_EQ(0, std::memcmp(g.data(), first.data(), n * 4)) << threads;
  }
}

TEST(ClipGradNormTest, ScalesToMaxNorm) {
  const int64_t n = 1000;
  const auto g0 = RandomVector(n, 41);
  auto g = g0;
  ThreadPool pool(2);
  const double norm = clip_grad_norm(g.data(), n, 1.5f, &pool);
  const double coef = 1.5 / (norm + 1e-6);
  ASSERT_LT(coef, 1.0);
  std::vector<double> expected(n);
  for (int64_t i = 0; i < n; ++i) expected[i] = g0[i] * coef;
  // One fp32 product with the coefficient rounded to float: <= 1 ulp each.
  ExpectNear("clipped", g.data(), expected, 0, 2.5e-7);
  EXPECT_NEAR(grad_norm(g.data(), n, &pool), 1.5, 1e-6);
}

TEST(ClipGradNormTest, LeavesSmallOrUnclippedGradientsAlone) {
  const int64_t n = 100;
  const auto g0 = RandomVector(n, 51);
  auto g = g0;
  const double norm = clip_grad_norm(g.data(), n, 1e6f, nullptr);  // Coefficient > 1: clamped.
  EXPECT_GT(norm, 0.0);
  EXPECT_EQ(g, g0);
  EXPECT_EQ(clip_grad_norm(g.data(), n, 0.0f, nullptr), norm);  // Disabled: norm only.
  EXPECT_EQ(g, g0);
}

}  // namespace
}  // namespace flywheel::kernels
