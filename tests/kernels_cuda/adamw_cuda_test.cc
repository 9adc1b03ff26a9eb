// The CUDA AdamW step and gradient-norm clipping against the CPU path, and an AdamW element's
// bits independent of how many parameters one call updates. Without a GPU the tests skip with the
// CUDA runtime's reason; CI has none.
#include "common/kernels/cpu/adamw.h"
#include "common/kernels/cuda/adamw.h"
#include "common/kernels/cuda/launch_shape.h"
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

class GradNormCudaTest : public CudaTest {
 protected:
  // Three full chunks and a partial one.
  static constexpr int64_t kN = 3 * kernels::cuda::kNormChunk + 12345;
  std::vector<float> grads_ = RandomVector(kN, 7);
};

TEST_F(GradNormCudaTest, NormMatchesCpu) {
  const double cpu = kernels::grad_norm(grads_.data(), kN, nullptr);
  DeviceBuffer<float> g(grads_);
  double norm = -1;
  ASSERT_TRUE(kernels::cuda::grad_norm(&norm, g.get(), kN));
  // Both sum the same chunks in double and add the chunks in order; within a chunk the order
  // differs (a tree against four interleaved chains), a relative error of ~20 double ε ≈ 5e-15.
  EXPECT_NEAR(norm, cpu, 1e-13 * cpu);
}

TEST_F(GradNormCudaTest, ClipMatchesCpu) {
  const float max_norm = 1.0f;  // The norm here is ~140: clipping applies.
  std::vector<float> cpu = grads_;
  const double cpu_norm = kernels::clip_grad_norm(cpu.data(), kN, max_norm, nullptr);
  DeviceBuffer<float> g(grads_);
  double norm = -1;
  ASSERT_TRUE(kernels::cuda::clip_grad_norm(&norm, g.get(), kN, max_norm));
  EXPECT_NEAR(norm, cpu_norm, 1e-13 * cpu_norm);
  // Each gradient times the same factor rounded to float; the norms differ by ~1e-14 relative,
  // which can move that rounding by one ulp at the most: 1.2e-7 relative.
  EXPECT_TRUE(AllNear(g.Download(), cpu, 1.2e-7f, 0.0f));
}

TEST_F(GradNormCudaTest, NoClipBelowMaxNorm) {
  DeviceBuffer<float> g(grads_);
  double norm = -1;
  ASSERT_TRUE(kernels::cuda::clip_grad_norm(&norm, g.get(), kN, 1e6f));
  EXPECT_GT(norm, 0.0);
  EXPECT_TRUE(BitwiseEqual(g.Download(), grads_));
}

}  // namespace
}  // namespace flywheel::cuda_test
