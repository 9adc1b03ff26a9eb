// The CUDA RoPE and its backward against the CPU path, and a row's bits independent of the
// batch.
// Without a GPU the tests skip with the CUDA runtime's reason; CI has none.
#include "common/kernels/cpu/rope.h"
#include "common/kernels/cuda/rope.h"
#include "tests/kernels_cuda/cuda_test_util.h"

namespace flywheel::cuda_test {
namespace {

class RopeCudaTest : public CudaTest {
 protected:
  static constexpr int64_t N = 37, H = 3, D = 64, kMaxPositions = 200;
  const kernels::RopeTable table_ = kernels::rope_table(kMaxPositions, D, 10000.0);
  DeviceBuffer<float> cos_{table_.cos};
  DeviceBuffer<float> sin_{table_.sin};
  const kernels::cuda::RopeTableView view_{kMaxPositions, D / 2, cos_.get(), sin_.get()};
  std::vector<float> x_ = RandomVector(N * H * D, 1);
  std::vector<int32_t> pos_ = RandomIndices(N, kMaxPositions, 2);
};

TEST_F(RopeCudaTest, ForwardInPlaceMatchesCpu) {
  std::vector<float> cpu(N * H * D);
  kernels::rope_forward(cpu.data(), x_.data(), pos_.data(), table_, N, H, D);
  DeviceBuffer<float> x(x_);
  DeviceBuffer<int32_t> pos(pos_);
  ASSERT_TRUE(kernels::cuda::rope_forward(x.get(), x.get(), pos.get(), view_, N, H, D));
  // The same table, and two products rounded before one add or subtract on both paths (nvcc
  // fuses nothing here: --fmad=false): the same bits.
  EXPECT_TRUE(BitwiseEqual(x.Download(), cpu));
}

TEST_F(RopeCudaTest, BackwardMatchesCpu) {
  const std::vector<float>& dout_ = x_;  // Any values serve as the upstream gradient.
  // A non-zero starting gradient checks that it is accumulated (+=), not overwritten.
  std::vector<float> cpu = RandomVector(N * H * D, 3);
  DeviceBuffer<float> dinp(cpu), dout(dout_);
  DeviceBuffer<int32_t> pos(pos_);
  kernels::rope_backward(cpu.data(), dout_.data(), pos_.data(), table_, N, H, D);
  ASSERT_TRUE(kernels::cuda::rope_backward(dinp.get(), dout.get(), pos.get(), view_, N, H, D));
  // Two rounded products, their sum, then the accumulation, in the CPU's order: the same bits.
  EXPECT_TRUE(BitwiseEqual(dinp.Download(), cpu));
}

TEST_F(RopeCudaTest, RowIsBatchInvariant) {
  const int64_t row = 11;
  DeviceBuffer<float> x(x_), out(N * H * D), x1(Row(x_, row, H * D)), out1(H * D);
  DeviceBuffer<int32_t> pos(pos_), pos1(Row(pos_, row, 1));
  ASSERT_TRUE(kernels::cuda::rope_forward(out.get(), x.get(), pos.get(), view_, N, H, D));
  ASSERT_TRUE(kernels::cuda::rope_forward(out1.get(), x1.get(), pos1.get(), view_, 1, H, D));
  EXPECT_TRUE(BitwiseEqual(out1.Download(), Row(out.Download(), row, H * D)));
  // Backward on the same rows, accumulating into zeros.
  DeviceBuffer<float> dx{std::vector<float>(N * H * D)}, dx1{std::vector<float>(H * D)};
  ASSERT_TRUE(kernels::cuda::rope_backward(dx.get(), x.get(), pos.get(), view_, N, H, D));
  ASSERT_TRUE(kernels::cuda::rope_backward(dx1.get(), x1.get(), pos1.get(), view_, 1, H, D));
  EXPECT_TRUE(BitwiseEqual(dx1.Download(), Row(dx.Download(), row, H * D)));
}

}  // namespace
}  // namespace flywheel::cuda_test
