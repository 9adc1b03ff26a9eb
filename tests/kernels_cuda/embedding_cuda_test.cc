// The CUDA embedding lookup and its backward against the CPU path, and a row's bits independent
// of the batch.
// Without a GPU the tests skip with the CUDA runtime's reason; CI has none.
#include "common/kernels/cpu/embedding.h"
#include "common/kernels/cuda/embedding.h"
#include "tests/kernels_cuda/cuda_test_util.h"

namespace flywheel::cuda_test {
namespace {

class EmbeddingCudaTest : public CudaTest {
 protected:
  // More tokens than vocabulary rows, so ids repeat.
  static constexpr int64_t N = 37, V = 20, C = 300;
  std::vector<int32_t> tokens_ = RandomIndices(N, V, 1);
  std::vector<float> wte_ = RandomVector(V * C, 2);
};

TEST_F(EmbeddingCudaTest, ForwardMatchesCpu) {
  std::vector<float> cpu(N * C);
  kernels::embedding_forward(cpu.data(), tokens_.data(), wte_.data(), N, C);
  DeviceBuffer<int32_t> tokens(tokens_);
  DeviceBuffer<float> wte(wte_), out(N * C);
  ASSERT_TRUE(kernels::cuda::embedding_forward(out.get(), tokens.get(), wte.get(), N, C));
  // A copy on both paths: the same bits.
  EXPECT_TRUE(BitwiseEqual(out.Download(), cpu));
}

TEST_F(EmbeddingCudaTest, BackwardMatchesCpu) {
  const std::vector<float> dout_ = RandomVector(N * C, 3);
  // A non-zero starting gradient checks that rows are accumulated (+=), not overwritten.
  std::vector<float> cpu = RandomVector(V * C, 4);
  DeviceBuffer<float> dwte(cpu), dout(dout_);
  DeviceBuffer<int32_t> tokens(tokens_);
  kernels::embedding_backward(cpu.data(), dout_.data(), tokens_.data(), N, C);
  ASSERT_TRUE(kernels::cuda::embedding_backward(dwte.get(), dout.get(), tokens.get(), N, C));
  // Repeated tokens' rows are added in order n = 0..N-1 on both paths, one rounded add each: the
  // same bits (an atomic scatter would not give them).
  EXPECT_TRUE(BitwiseEqual(dwte.Download(), cpu));
}

TEST_F(EmbeddingCudaTest, RowIsBatchInvariant) {
  const int64_t row = 5;
  DeviceBuffer<int32_t> tokens(tokens_), token1(Row(tokens_, row, 1));
  DeviceBuffer<float> wte(wte_), out(N * C), out1(C);
  ASSERT_TRUE(kernels::cuda::embedding_forward(out.get(), tokens.get(), wte.get(), N, C));
  ASSERT_TRUE(kernels::cuda::embedding_forward(out1.get(), token1.get(), wte.get(), 1, C));
  EXPECT_TRUE(BitwiseEqual(out1.Download(), Row(out.Download(), row, C)));
}

}  // namespace
}  // namespace flywheel::cuda_test
