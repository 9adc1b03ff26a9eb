// The CUDA RMSNorm against the CPU path (the CPU path is itself checked against PyTorch), and a
// row's bits on the GPU independent of the batch. Without a GPU the tests skip with the CUDA
// runtime's reason; CI has none.
#include "common/kernels/cpu/rmsnorm.h"
#include "common/kernels/cuda/rmsnorm.h"
#include "tests/kernels_cuda/cuda_test_util.h"

namespace flywheel::cuda_test {
namespace {

class RmsnormCudaTest : public CudaTest {
 protected:
  static constexpr int64_t N = 37, C = 1000;
  static constexpr float kEps = 1e-6f;
  std::vector<float> x_ = RandomVector(N * C, 1);
  std::vector<float> w_ = RandomVector(C, 2, 0.9f, 1.1f);
};

TEST_F(RmsnormCudaTest, ForwardMatchesCpu) {
  std::vector<float> cpu(N * C), rstd_cpu(N);
  kernels::rmsnorm_forward(cpu.data(), rstd_cpu.data(), x_.data(), w_.data(), kEps, N, C, nullptr);
  DeviceBuffer<float> x(x_), w(w_), out(N * C), rstd(N);
  ASSERT_TRUE(kernels::cuda::rmsnorm_forward(out.get(), rstd.get(), x.get(), w.get(), kEps, N, C));
  // The two paths sum x² in different orders (tree vs interleaved partial sums): ~C · 6e-8
  // relative at worst.
  EXPECT_TRUE(AllNear(out.Download(), cpu, 1e-4f, 1e-6f));
  EXPECT_TRUE(AllNear(rstd.Download(), rstd_cpu, 1e-4f, 0.0f));
}

TEST_F(RmsnormCudaTest, BackwardMatchesCpu) {
  std::vector<float> rstd(N), unused(N * C);
  kernels::rmsnorm_forward(unused.data(), rstd.data(), x_.data(), w_.data(), kEps, N, C, nullptr);
  const std::vector<float> dy = RandomVector(N * C, 3);
  // Non-zero starting gradients check that both are accumulated (+=), not overwritten.
  std::vector<float> dx_cpu = RandomVector(N * C, 4), dw_cpu = RandomVector(C, 5);
  DeviceBuffer<float> dx(dx_cpu), dw(dw_cpu), ddy(dy), x(x_), w(w_), r(rstd);
  kernels::rmsnorm_backward(dx_cpu.data(), dw_cpu.data(), dy.data(), x_.data(), w_.data(),
                            rstd.data(), N, C, nullptr);
  ASSERT_TRUE(kernels::cuda::rmsnorm_backward(dx.get(), dw.get(), ddy.get(), x.get(), w.get(),
                                              r.get(), N, C));
  // dx: the dot Σ w·dy·x is summed in a tree on the GPU and in 32 interleaved partial sums on
  // the CPU; its rounding error (at worst ~40 ε · Σ|w·dy·x| ≈ 6e-4 here) moves (r³/C)·dot·x
  // (r ≈ 1.7) by at most ~3e-6, against entries of order 1.
  EXPECT_TRUE(AllNear(dx.Download(), dx_cpu, 1e-5f, 2e-5f));
  // dweight: the CPU's operations in the CPU's order (rows n = 0..N-1), no fused multiply-add.
  EXPECT_TRUE(BitwiseEqual(dw.Download(), dw_cpu));
}

TEST_F(RmsnormCudaTest, RowIsBatchInvariant) {
  const int64_t row = 17;
  const std::vector<float> dy_ = RandomVector(N * C, 3);
  DeviceBuffer<float> x(x_), w(w_), dy(dy_), out(N * C), rstd(N), dx{std::vector<float>(N * C)};
  DeviceBuffer<float> dw(C);  // Sums over the rows: not a per-row output, not compared.
  ASSERT_TRUE(kernels::cuda::rmsnorm_forward(out.get(), rstd.get(), x.get(), w.get(), kEps, N, C));
  ASSERT_TRUE(kernels::cuda::rmsnorm_backward(dx.get(), dw.get(), dy.get(), x.get(), w.get(),
                                              rstd.get(), N, C));
  DeviceBuffer<float> x1(Row(x_, row, C)), dy1(Row(dy_, row, C)), out1(C), rstd1(1),
      dx1{std::vector<float>(C)};
  ASSERT_TRUE(
      kernels::cuda::rmsnorm_forward(out1.get(), rstd1.get(), x1.get(), w.get(), kEps, 1, C));
  ASSERT_TRUE(kernels::cuda::rmsnorm_backward(dx1.get(), dw.get(), dy1.get(), x1.get(), w.get(),
                                              rstd1.get(), 1, C));
  EXPECT_TRUE(BitwiseEqual(out1.Download(), Row(out.Download(), row, C)));
  EXPECT_TRUE(BitwiseEqual(rstd1.Download(), Row(rstd.Download(), row, 1)));
  EXPECT_TRUE(BitwiseEqual(dx1.Download(), Row(dx.Download(), row, C)));
}

}  // namespace
}  // namespace flywheel::cuda_test
