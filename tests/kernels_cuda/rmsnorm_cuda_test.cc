// The CUDA RMSNorm against the CPU path (the CPU path is itself checked against PyTorch).
// Without a GPU the test skips with the CUDA runtime's reason; CI has none.
#include <cuda_runtime.h>

#include <cmath>
#include <random>
#include <vector>

#include "common/kernels/cpu/rmsnorm.h"
#include "common/kernels/cuda/device.h"
#include "common/kernels/cuda/rmsnorm.h"
#include "gtest/gtest.h"

namespace flywheel {
namespace {

TEST(RmsnormCudaTest, MatchesCpu) {
  std::string why;
  if (kernels::cuda::DeviceCount(&why) == 0) GTEST_SKIP() << "no CUDA device here (" << why << ")";
  const int64_t N = 37, C = 1000;
  std::mt19937 rng(1);
  std::normal_distribution<float> nd;
  std::vector<float> x(N * C), w(C), cpu(N * C), gpu(N * C), rstd_cpu(N), rstd_gpu(N);
  for (auto& v : x) v = nd(rng);
  for (auto& v : w) v = 1.0f + 0.1f * nd(rng);
  kernels::rmsnorm_forward(cpu.data(), rstd_cpu.data(), x.data(), w.data(), 1e-6f, N, C, nullptr);
  float *dx, *dw, *dout, *drstd;
  ASSERT_EQ(cudaMalloc(&dx, x.size() * 4), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&dw, w.size() * 4), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&dout, x.size() * 4), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&drstd, N * 4), cudaSuccess);
  cudaMemcpy(dx, x.data(), x.size() * 4, cudaMemcpyHostToDevice);
  cudaMemcpy(dw, w.data(), w.size() * 4, cudaMemcpyHostToDevice);
  ASSERT_TRUE(kernels::cuda::rmsnorm_forward(dout, drstd, dx, dw, 1e-6f, N, C));
  cudaMemcpy(gpu.data(), dout, gpu.size() * 4, cudaMemcpyDeviceToHost);
  cudaMemcpy(rstd_gpu.data(), drstd, N * 4, cudaMemcpyDeviceToHost);
  cudaFree(dx);
  cudaFree(dw);
  cudaFree(dout);
  cudaFree(drstd);
  // The two paths sum x² in different orders (tree vs sequential): ~C * 6e-8 relative at worst.
  for (int64_t i = 0; i < N * C; ++i)
    ASSERT_NEAR(gpu[i], cpu[i], 1e-4f * std::fabs(cpu[i]) + 1e-6f) << i;
  for (int64_t n = 0; n < N; ++n) ASSERT_NEAR(rstd_gpu[n], rstd_cpu[n], 1e-4f * rstd_cpu[n]);
}

}  // namespace
}  // namespace flywheel
