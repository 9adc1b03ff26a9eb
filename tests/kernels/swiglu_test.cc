// SwiGLU: forward against a double reference, backward by finite differences.
#include "common/kernels/cpu/swiglu.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "common/base/thread_pool.h"
#include "tests/kernels/grad_check.h"

namespace flywheel::kernels {
namespace {

using testing::AddedGradient;
using testing::ExpectGradientMatches;
using testing::ExpectNear;
using testing::Project;
using testing::RandomVector;

TEST(SwigluTest, ForwardMatchesDoubleReference) {
  for (int64_t I : {3, 8, 29, 704}) {
    const int64_t N = 6;
    auto gate_up = RandomVector(N * 2 * I, 1, -8, 8);
    gate_up[0] = -200.0f;  // exp(-gate) overflows: silu must still be (-)0, not NaN.
    gate_up[1] = 200.0f;
    std::vector<float> out(N * I);
    ThreadPool pool(2);
    swiglu_forward(out.data(), gate_up.data(), N, I, &pool);
    std::vector<double> ref(N * I);
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t i = 0; i < I; ++i) {
        const double g = gate_up[n * 2 * I + i], u = gate_up[n * 2 * I + I + i];
        ref[n * I + i] = g / (1.0 + std::exp(-g)) * u;
      }
    }
    // exp within ~1 ulp, then a division and a product: a few ulp.
    ExpectNear("swiglu", out.data(), ref, 1e-30, 1e-6);
  }
}

TEST(SwigluTest, BackwardMatchesFiniteDifferences) {
  const int64_t N = 3, I = 11;
  auto gate_up = RandomVector(N * 2 * I, 11, -4, 4);
  const auto r = RandomVector(N * I, 12);
  std::vector<float> out(N * I);
  auto loss = [&] {
    swiglu_forward(out.data(), gate_up.data(), N, I, nullptr);
    return Project(out.data(), r);
  };
  const auto d0 = RandomVector(N * 2 * I, 13);
  auto d = d0;
  ThreadPool pool(2);
  swiglu_backward(d.data(), r.data(), gate_up.data(), N, I, &pool);
  ExpectGradientMatches("dgate_up", &gate_up, AddedGradient(d, d0), loss);
}

// Each element's bits are the same wherever it falls (vector body or tail), so a row computed
// alone equals the same row inside a wider batch.
TEST(SwigluTest, RowsAreBatchInvariant) {
  const int64_t N = 5, I = 21;
  const auto gate_up = RandomVector(N * 2 * I, 21, -6, 6);
  std::vector<float> out(N * I);
  ThreadPool pool(3);
  swiglu_forward(out.data(), gate_up.data(), N, I, &pool);
  for (int64_t n = 0; n < N; ++n) {
    std::vector<float> row(I);
    swiglu_forward(row.data(), gate_up.data() + n * 2 * I, 1, I, nullptr);
    EXPECT_EQ(0, std::memcmp(row.data(), out.data() + n * I, I * 4)) << n;
  }
}

}  // namespace
}  // namespace flywheel::kernels
