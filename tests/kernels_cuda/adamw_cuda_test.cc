// The CUDA AdamW step against the CPU path, and an element's bits independent of how many
// parameters one call updates. Without a GPU the tests skip with the CUDA runtime's reason; CI
// has none.
#include "common/kernels/cpu/adamw.h"
#include "common/kernels/cuda/adamw.h"
#include "tests/kernels_cuda/cuda_test_util.h"

namespace flywheel::cuda_test {
namespace {

class AdamWCudaTest : public CudaTest {
 protected:
  static constexpr int64_t kN = 10007;  // A prime: the grid's last block is partial.
  static constexpr int kSteps = 3;      // Bias corrections differ from step to step.
  // Non-default options so each of them matters.
  const kernels::AdamWOptions opt_{
      .lr = 3e-3f, .beta1 = 0.8f, .beta2 = 0.95f, .eps = 1e-6f, .weight_decay = 0.1f};
  std::vector<float> params_ = RandomVector(kN, 1);
  std::vector<float> m_ = RandomVector(kN, 2, -0.01f, 0.01f);
  std::vector<float> v_ = RandomVector(kN, 3, 1e-4f, 2e-3f);  // Positive, as second moments are.
  std::vector<float> grads_[kSteps] = {RandomVector(kN, 4), RandomVector(kN, 5),
                                       RandomVector(kN, 6)};
};

TEST_F(AdamWCudaTest, StepsMatchCpu) {
  DeviceBuffer<float> p(params_), m(m_), v(v_);
  for (int s = 0; s < kSteps; ++s) {
    kernels::adamw_update(params_.data(), grads_[s].data(), m_.data(), v_.data(), kN, s + 1, opt_,
                          nullptr);
    DeviceBuffer<float> g(grads_[s]);
    ASSERT_TRUE(kernels::cuda::adamw_update(p.get(), g.get(), m.get(), v.get(), kN, s + 1, opt_));
  }
  // The same scalar coefficients (formed on the host in double as on the CPU), the CPU's
  // operations in its order with one explicit FMA, IEEE division and square root on both paths:
  // the same bits.
  EXPECT_TRUE(BitwiseEqual(p.Download(), params_));
  EXPECT_TRUE(BitwiseEqual(m.Download(), m_));
  EXPECT_TRUE(BitwiseEqual(v.Download(), v_));
}

TEST_F(AdamWCudaTest, ElementIsBatchInvariant) {
  // A slice of 1000 parameters updated alone against the same slice in the full update.
  const int64_t slice = 7, width = 1000;
  DeviceBuffer<float> p(params_), g(grads_[0]), m(m_), v(v_);
  DeviceBuffer<float> p1(Row(params_, slice, width)), g1(Row(grads_[0], slice, width)),
      m1(Row(m_, slice, width)), v1(Row(v_, slice, width));
  ASSERT_TRUE(kernels::cuda::adamw_update(p.get(), g.get(), m.get(), v.get(), kN, 1, opt_));
  ASSERT_TRUE(kernels::cuda::adamw_update(p1.get(), g1.get(), m1.get(), v1.get(), width, 1, opt_));
  EXPECT_TRUE(BitwiseEqual(p1.Download(), Row(p.Download(), slice, width)));
  EXPECT_TRUE(BitwiseEqual(m1.Download(), Row(m.Download(), slice, width)));
  EXPECT_TRUE(BitwiseEqual(v1.Download(), Row(v.Download(), slice, width)));
}

}  // namespace
}  // namespace flywheel::cuda_test
