// The CUDA SwiGLU and its backward against the CPU path, and a row's bits independent of the
// batch.
// Without a GPU the tests skip with the CUDA runtime's reason; CI has none.
#include "common/kernels/cpu/swiglu.h"
#include "common/kernels/cuda/swiglu.h"
#include "tests/kernels_cuda/cuda_test_util.h"

namespace flywheel::cuda_test {
namespace {

class SwigluCudaTest : public CudaTest {
 protected:
  static constexpr int64_t N = 37, I = 700;
  // Wide enough that silu sees its saturated tails as well as the middle.
  std::vector<float> gate_up_ = RandomVector(N * 2 * I, 1, -8.0f, 8.0f);
  std::vector<float> dout_ = RandomVector(N * I, 2);
  // A non-zero starting gradient checks that it is accumulated (+=), not overwritten.
  std::vector<float> dgate_up_ = RandomVector(N * 2 * I, 3);
};

TEST_F(SwigluCudaTest, ForwardMatchesCpu) {
  std::vector<float> cpu(N * I);
  kernels::swiglu_forward(cpu.data(), gate_up_.data(), N, I, nullptr);
  DeviceBuffer<float> gate_up(gate_up_), out(N * I);
  ASSERT_TRUE(kernels::cuda::swiglu_forward(out.get(), gate_up.get(), N, I));
  // CUDA's expf (≤ 2 ulp) and the CPU's vector exp (~1 ulp) differ in the last bits; through
  // 1 + e, the division and the product that is a few ulp of the result, well inside 2e-6
  // (~16 ulp) relative.
  EXPECT_TRUE(AllNear(out.Download(), cpu, 2e-6f, 1e-30f));
}

TEST_F(SwigluCudaTest, BackwardMatchesCpu) {
  std::vector<float> cpu = dgate_up_;
  kernels::swiglu_backward(cpu.data(), dout_.data(), gate_up_.data(), N, I, nullptr);
  DeviceBuffer<float> dgate_up(dgate_up_), dout(dout_), gate_up(gate_up_);
  ASSERT_TRUE(kernels::cuda::swiglu_backward(dgate_up.get(), dout.get(), gate_up.get(), N, I));
  // As in the forward, only the exp differs; the added gradient (at most ~1.1 in size here)
  // carries a few ulp of itself, so the sum with the starting gradient is within 2e-6 absolute
  // even where the two nearly cancel, and within 2e-6 relative elsewhere.
  EXPECT_TRUE(AllNear(dgate_up.Download(), cpu, 2e-6f, 2e-6f));
}

TEST_F(SwigluCudaTest, BackwardRowIsBatchInvariant) {
  const int64_t row = 36;
  DeviceBuffer<float> dgate_up(dgate_up_), dout(dout_), gate_up(gate_up_);
  DeviceBuffer<float> dgate_up1(Row(dgate_up_, row, 2 * I)), dout1(Row(dout_, row, I)),
      gate_up1(Row(gate_up_, row, 2 * I));
  ASSERT_TRUE(kernels::cuda::swiglu_backward(dgate_up.get(), dout.get(), gate_up.get(), N, I));
  ASSERT_TRUE(kernels::cuda::swiglu_backward(dgate_up1.get(), dout1.get(), gate_up1.get(), 1, I));
  EXPECT_TRUE(BitwiseEqual(dgate_up1.Download(), Row(dgate_up.Download(), row, 2 * I)));
}

TEST_F(SwigluCudaTest, RowIsBatchInvariant) {
  const int64_t row = 36;
  DeviceBuffer<float> gate_up(gate_up_), out(N * I);
  DeviceBuffer<float> gate_up1(Row(gate_up_, row, 2 * I)), out1(I);
  ASSERT_TRUE(kernels::cuda::swiglu_forward(out.get(), gate_up.get(), N, I));
  ASSERT_TRUE(kernels::cuda::swiglu_forward(out1.get(), gate_up1.get(), 1, I));
  EXPECT_TRUE(BitwiseEqual(out1.Download(), Row(out.Download(), row, I)));
}

}  // namespace
}  // namespace flywheel::cuda_test
