// The CUDA residual add and its backward against the CPU path, and a row's bits independent of the
// batch. Without a GPU the tests skip with the CUDA runtime's reason; CI has none.
#include "common/kernels/cpu/residual.h"
#include "common/kernels/cuda/residual.h"
#include "tests/kernels_cuda/cuda_test_util.h"

namespace flywheel::cuda_test {
namespace {

class ResidualCudaTest : public CudaTest {
 protected:
  // (N, C) rows flattened; C is no multiple of the block size, so blocks straddle rows.
  static constexpr int64_t N = 37, C = 1000;
  std::vector<float> a_ = RandomVector(N * C, 1);
  std::vector<float> b_ = RandomVector(N * C, 2);
};

TEST_F(ResidualCudaTest, ForwardInPlaceMatchesCpu) {
  std::vector<float> cpu(N * C);
  kernels::residual_forward(cpu.data(), a_.data(), b_.data(), N * C);
  DeviceBuffer<float> a(a_), b(b_);
  // out aliases a, as the model's residual stream does.
  ASSERT_TRUE(kernels::cuda::residual_forward(a.get(), a.get(), b.get(), N * C));
  // One correctly rounded add on both paths: the same bits.
  EXPECT_TRUE(BitwiseEqual(a.Download(), cpu));
}

TEST_F(ResidualCudaTest, BackwardMatchesCpu) {
  const std::vector<float>& dout_ = a_;  // Any values serve as the upstream gradient.
  // Non-zero starting gradients check that both are accumulated (+=), not overwritten.
  std::vector<float> da_cpu = RandomVector(N * C, 3), db_cpu = RandomVector(N * C, 4);
  DeviceBuffer<float> da(da_cpu), db(db_cpu), dout(dout_);
  kernels::residual_backward(da_cpu.data(), db_cpu.data(), dout_.data(), N * C);
  ASSERT_TRUE(kernels::cuda::residual_backward(da.get(), db.get(), dout.get(), N * C));
  // A null gradient is skipped, the other still accumulated.
  kernels::residual_backward(nullptr, db_cpu.data(), dout_.data(), N * C);
  ASSERT_TRUE(kernels::cuda::residual_backward(nullptr, db.get(), dout.get(), N * C));
  // One correctly rounded add per element and call on both paths: the same bits.
  EXPECT_TRUE(BitwiseEqual(da.Download(), da_cpu));
  EXPECT_TRUE(BitwiseEqual(db.Download(), db_cpu));
}

TEST_F(ResidualCudaTest, RowIsBatchInvariant) {
  const int64_t row = 30;
  DeviceBuffer<float> a(a_), b(b_), out(N * C);
  DeviceBuffer<float> a1(Row(a_, row, C)), b1(Row(b_, row, C)), out1(C);
  ASSERT_TRUE(kernels::cuda::residual_forward(out.get(), a.get(), b.get(), N * C));
  ASSERT_TRUE(kernels::cuda::residual_forward(out1.get(), a1.get(), b1.get(), C));
  EXPECT_TRUE(BitwiseEqual(out1.Download(), Row(out.Download(), row, C)));
}

}  // namespace
}  // namespace flywheel::cuda_test
