// Test helpers for the CPU kernels: fixed-seed random data and a central-difference gradient
// check on a scalar loss L = Σ out·R (R a fixed random tensor, so dout = R).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace flywheel::kernels::testing {

// Uniform values in [lo, hi) from a fixed seed, so every run sees the same data.
inline std::vector<float> RandomVector(int64_t n, uint32_t seed, float lo = -1.0f,
                                       float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Σ out[i]·r[i], accumulated in double so that the loss adds no round-off of its own.
inline double Project(const float* out, const std::vector<float>& r) {
  double s = 0;
  for (size_t i = 0; i < r.size(); ++i) s += static_cast<double>(out[i]) * r[i];
  return s;
}

// Step and tolerance of the finite-difference check. The outputs are fp32, so each evaluation of
// L carries a round-off of about 6e-8 · Σ|out·R|, which the central difference divides by 2h;
// the truncation error is about h²/6 · |L'''|. On the tiny shapes of these tests (Σ|out·R| of a
// few tens, gradients of order 0.1..3) h = 1e-2 keeps both below 1e-4: the worst difference
// measured over all kernels is 6e-5 (attention dk). An analytic gradient passes when
// |analytic − numeric| <= atol + rtol · |numeric|; one off by 0.3% already fails.
struct GradCheckOptions {
  float step = 1e-2f;
  double atol = 2e-4;
  double rtol = 1e-3;
};

// Perturbs each element of *x in turn, evaluates loss() (which must recompute the forward from the
// current *x), and compares the central difference with analytic[i]. *x is restored afterwards.
inline void ExpectGradientMatches(const std::string& name, std::vector<float>* x,
                                  const std::vector<double>& analytic,
                                  const std::function<double()>& loss,
                                  const GradCheckOptions& opt = {}) {
  ASSERT_EQ(x->size(), analytic.size()) << name;
  int failures = 0;
  for (size_t i = 0; i < x->size(); ++i) {
    const float x0 = (*x)[i];
    const float xp = x0 + opt.step;
    const float xm = x0 - opt.step;
    (*x)[i] = xp;
    const double lp = loss();
    (*x)[i] = xm;
    const double lm = loss();
    (*x)[i] = x0;
    // Divide by the step actually taken after rounding x ± h to float.
    const double numeric = (lp - lm) / (static_cast<double>(xp) - static_cast<double>(xm));
    const double tol = opt.atol + opt.rtol * std::fabs(numeric);
    if (std::fabs(analytic[i] - numeric) > tol && ++failures <= 5) {
      ADD_FAILURE() << name << "[" << i << "]: analytic " << analytic[i] << " vs numeric "
                    << numeric << " (tolerance " << tol << ")";
    }
  }
  EXPECT_EQ(failures, 0) << name << ": " << failures << " of " << x->size() << " elements differ";
}

// The gradient a backward pass added to a buffer that held `before`: (after − before) in double.
inline std::vector<double> AddedGradient(const std::vector<float>& after,
                                         const std::vector<float>& before) {
  std::vector<double> g(after.size());
  for (size_t i = 0; i < g.size(); ++i) g[i] = static_cast<double>(after[i]) - before[i];
  return g;
}

// Expects |actual − expected| <= atol + rtol · |expected| element-wise.
inline void ExpectNear(const std::string& name, const float* actual,
                       const std::vector<double>& expected, double atol, double rtol) {
  int failures = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const double tol = atol + rtol * std::fabs(expected[i]);
    if (!(std::fabs(actual[i] - expected[i]) <= tol) && ++failures <= 5) {
      ADD_FAILURE() << name << "[" << i << "]: " << actual[i] << " vs reference " << expected[i];
    }
  }
  EXPECT_EQ(failures, 0) << name << ": " << failures << " of " << expected.size() << " differ";
}

}  // namespace flywheel::kernels::testing
