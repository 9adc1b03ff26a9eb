// The CUDA log-softmax gather (logprobs, entropy, logsumexp) against the CPU path, and a row's
// bits independent of the batch. Without a GPU the tests skip with the CUDA runtime's reason; CI
// has none.
#include "common/kernels/cpu/logprobs.h"
#include "common/kernels/cuda/logprobs.h"
#include "tests/kernels_cuda/cuda_test_util.h"

namespace flywheel::cuda_test {
namespace {

class LogprobsCudaTest : public CudaTest {
 protected:
  // V is no multiple of the block size, so the last strided pass is partial.
  static constexpr int64_t N = 37, V = 1000;
  std::vector<float> logits_ = RandomVector(N * V, 1, -6.0f, 6.0f);
  std::vector<int32_t> targets_ = RandomIndices(N, V, 2);
};

TEST_F(LogprobsCudaTest, ForwardMatchesCpu) {
  std::vector<float> lp_cpu(N), ent_cpu(N), lse_cpu(N);
  kernels::logprobs_forward(lp_cpu.data(), ent_cpu.data(), lse_cpu.data(), logits_.data(),
                            targets_.data(), N, V, nullptr);
  DeviceBuffer<float> logits(logits_), lp(N), ent(N), lse(N);
  DeviceBuffer<int32_t> targets(targets_);
  ASSERT_TRUE(kernels::cuda::logprobs_forward(lp.get(), ent.get(), lse.get(), logits.get(),
                                              targets.get(), N, V));
  // S = Σ exp(x − max) and A = Σ exp(x − max)·(x − max) have terms of one sign, summed in a tree
  // of ~12 roundings (GPU) or 32 partial sums of ~31 terms (CPU): their relative errors stay
  // below ~40 ε ≈ 2.4e-6, plus ~2 ulp from expf. log S, and so logprob, lse and entropy, move by
  // about that much in absolute terms; then each result is rounded once (relative ε).
  EXPECT_TRUE(AllNear(lp.Download(), lp_cpu, 1e-6f, 1e-5f));
  EXPECT_TRUE(AllNear(lse.Download(), lse_cpu, 1e-6f, 1e-5f));
  // H = log S − A/S: A/S is of order a few here and carries both sums' relative errors.
  EXPECT_TRUE(AllNear(ent.Download(), ent_cpu, 1e-5f, 2e-5f));
}

TEST_F(LogprobsCudaTest, RowIsBatchInvariant) {
  const int64_t row = 20;
  DeviceBuffer<float> logits(logits_), lp(N), ent(N), lse(N);
  DeviceBuffer<float> logits1(Row(logits_, row, V)), lp1(1), ent1(1), lse1(1);
  DeviceBuffer<int32_t> targets(targets_), targets1(Row(targets_, row, 1));
  ASSERT_TRUE(kernels::cuda::logprobs_forward(lp.get(), ent.get(), lse.get(), logits.get(),
                                              targets.get(), N, V));
  ASSERT_TRUE(kernels::cuda::logprobs_forward(lp1.get(), ent1.get(), lse1.get(), logits1.get(),
                                              targets1.get(), 1, V));
  EXPECT_TRUE(BitwiseEqual(lp1.Download(), Row(lp.Download(), row, 1)));
  EXPECT_TRUE(BitwiseEqual(ent1.Download(), Row(ent.Download(), row, 1)));
  EXPECT_TRUE(BitwiseEqual(lse1.Download(), Row(lse.Download(), row, 1)));
}

}  // namespace
}  // namespace flywheel::cuda_test
