// RMSNorm: forward against a double reference, backward by finite differences, and a weight
// gradient that does not depend on the thread count.
#include "common/kernels/cpu/rmsnorm.h"

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

constexpr float kEps = 1e-6f;

TEST(RmsnormTest, ForwardMatchesDoubleReference) {
  for (int64_t C : {5, 32, 256, 301}) {
    const int64_t N = 7;
    const auto inp = RandomVector(N * C, 1, -3, 3);
    const auto weight = RandomVector(C, 2, 0.5f, 1.5f);
    std::vector<float> out(N * C), rstd(N);
    ThreadPool pool(2);
    rmsnorm_forward(out.data(), rstd.data(), inp.data(), weight.data(), kEps, N, C, &pool);
    std::vector<double> ref(N * C), ref_rstd(N);
    for (int64_t n = 0; n < N; ++n) {
      double ss = 0;
      for (int64_t c = 0; c < C; ++c) ss += static_cast<double>(inp[n * C + c]) * inp[n * C + c];
      ref_rstd[n] = 1.0 / std::sqrt(ss / C + kEps);
      for (int64_t c = 0; c < C; ++c) ref[n * C + c] = inp[n * C + c] * ref_rstd[n] * weight[c];
    }
    // A handful of fp32 roundings per element: 1e-6 relative leaves ample headroom.
    ExpectNear("out", out.data(), ref, 1e-7, 1e-6);
    ExpectNear("rstd", rstd.data(), ref_rstd, 0, 1e-6);
    // In place (out aliases inp) gives the same bits.
    auto inplace = inp;
    rmsnorm_forward(inplace.data(), nullptr, inplace.data(), weight.data(), kEps, N, C, nullptr);
    EXPECT_EQ(0, std::memcmp(inplace.data(), out.data(), out.size() * 4));
  }
}

TEST(RmsnormTest, BackwardMatchesFiniteDifferences) {
  for (int64_t C : {6, 19}) {
    const int64_t N = 3;
    auto inp = RandomVector(N * C, 11, -2, 2);
    auto weight = RandomVector(C, 12, 0.5f, 1.5f);
    const auto r = RandomVector(N * C, 13);
    std::vector<float> out(N * C), rstd(N);
    auto loss = [&] {
      rmsnorm_forward(out.data(), rstd.data(), inp.data(), weight.data(), kEps, N, C, nullptr);
      return Project(out.data(), r);
    };
    loss();
    const auto dinp0 = RandomVector(N * C, 14), dw0 = RandomVector(C, 15);
    auto dinp = dinp0, dw = dw0;
    ThreadPool pool(2);
    rmsnorm_backward(dinp.data(), dw.data(), r.data(), inp.data(), weight.data(), rstd.data(), N, C,
                     &pool);
    ExpectGradientMatches("dinp", &inp, AddedGradient(dinp, dinp0), loss);
    ExpectGradientMatches("dweight", &weight, AddedGradient(dw, dw0), loss);
  }
}

TEST(RmsnormTest, BackwardIsThreadCountIndependent) {
  const int64_t N = 37, C = 45;
  const auto inp = RandomVector(N * C, 21), weight = RandomVector(C, 22),
             dout = RandomVector(N * C, 23);
  std::vector<float> out(N * C), rstd(N);
  rmsnorm_forward(out.data(), rstd.data(), inp.data(), weight.data(), kEps, N, C, nullptr);
  std::vector<float> ref_dinp(N * C, 0.25f), ref_dw(C, 0.25f);
  rmsnorm_backward(ref_dinp.data(), ref_dw.data(), dout.data(), inp.data(), weight.data(),
                   rstd.data(), N, C, nullptr);
  for (int threads : {2, 3}) {
    ThreadPool pool(threads);
    std::vector<float> dinp(N * C, 0.25f), dw(C, 0.25f);
    rmsnorm_backward(dinp.data(), dw.data(), dout.data(), inp.data(), weight.data(), rstd.data(), N,
                     C, &pool);
    EXPECT_EQ(0, std::memcmp(dinp.data(), ref_dinp.data(), dinp.size() * 4)) << threads;
    EXPECT_EQ(0, std::memcmp(dw.data(), ref_dw.data(), dw.size() * 4)) << threads;
  }
}

}  // namespace
}  // namespace flywheel::kernels
