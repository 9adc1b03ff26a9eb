// The CUDA weighted cross-entropy against the CPU path. Without a GPU the tests skip with the
// CUDA runtime's reason; CI has none.
#include "common/kernels/cpu/cross_entropy.h"
#include "common/kernels/cuda/cross_entropy.h"
#include "tests/kernels_cuda/cuda_test_util.h"

namespace flywheel::cuda_test {
namespace {

class CrossEntropyCudaTest : public CudaTest {
 protected:
  static constexpr int64_t N = 10007;  // More than one element-wise block, the last one partial.
  std::vector<float> logprobs_ = RandomVector(N, 1, -12.0f, 0.0f);
  std::vector<float> weights_ = RandomVector(N, 2, 0.0f, 1e-3f);
};

TEST_F(CrossEntropyCudaTest, ForwardMatchesCpu) {
  const double cpu = kernels::cross_entropy_forward(logprobs_.data(), weights_.data(), N);
  DeviceBuffer<float> logprobs(logprobs_), weights(weights_);
  double loss = -1;
  ASSERT_TRUE(kernels::cuda::cross_entropy_forward(&loss, logprobs.get(), weights.get(), N));
  // Exact products, summed in double in index order on both paths: the same bits.
  EXPECT_TRUE(BitwiseEqual(std::vector<double>{loss}, std::vector<double>{cpu}));
}

TEST_F(CrossEntropyCudaTest, BackwardMatchesCpu) {
  const float dloss = 0.37f;
  // A non-zero starting gradient checks that it is accumulated (+=), not overwritten.
  std::vector<float> cpu = RandomVector(N, 3);
  DeviceBuffer<float> dlogprobs(cpu), weights(weights_);
  kernels::cross_entropy_backward(cpu.data(), weights_.data(), dloss, N);
  ASSERT_TRUE(kernels::cuda::cross_entropy_backward(dlogprobs.get(), weights.get(), dloss, N));
  // One product and one add per element on both paths: the same bits.
  EXPECT_TRUE(BitwiseEqual(dlogprobs.Download(), cpu));
}

}  // namespace
}  // namespace flywheel::cuda_test
