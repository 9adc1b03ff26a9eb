// The CUDA log-softmax gather (logprobs, entropy, logsumexp) and its backward against the CPU
// path, and a row's bits independent of the batch. Without a GPU the tests skip with the CUDA
// runtime's reason; CI has none.
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

  // Upstream gradients covering the backward's three cases: rows n % 3 == 0 masked (both zero),
  // n % 3 == 1 with a logprob gradient only, n % 3 == 2 with an entropy gradient as well.
  std::vector<float> dlogprobs_ = ZeroRows(RandomVector(N, 3), 1);
  std::vector<float> dentropy_ = ZeroRows(RandomVector(N, 4), 2);

  // v with the rows n % 3 < below set to zero.
  static std::vector<float> ZeroRows(std::vector<float> v, int64_t below) {
    for (int64_t n = 0; n < N; ++n) {
      if (n % 3 < below) v[n] = 0.0f;
    }
    return v;
  }

  // The CPU forward's lse and entropy, the backward's inputs on both paths.
  void CpuForward(std::vector<float>* lse, std::vector<float>* entropy) const {
    std::vector<float> lp(N);
    lse->resize(N);
    entropy->resize(N);
    kernels::logprobs_forward(lp.data(), entropy->data(), lse->data(), logits_.data(),
                              targets_.data(), N, V, nullptr);
  }
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

TEST_F(LogprobsCudaTest, BackwardMatchesCpu) {
  std::vector<float> lse_, ent_;
  CpuForward(&lse_, &ent_);
  std::vector<float> cpu(N * V);
  kernels::logprobs_backward(cpu.data(), dlogprobs_.data(), dentropy_.data(), logits_.data(),
                             lse_.data(), ent_.data(), targets_.data(), N, V, nullptr);
  // dlogits starts as garbage: it is overwritten, not accumulated.
  DeviceBuffer<float> dlogits(RandomVector(N * V, 5)), dlp(dlogprobs_), dent(dentropy_),
      logits(logits_), lse(lse_), ent(ent_);
  DeviceBuffer<int32_t> targets(targets_);
  ASSERT_TRUE(kernels::cuda::logprobs_backward(dlogits.get(), dlp.get(), dent.get(), logits.get(),
                                               lse.get(), ent.get(), targets.get(), N, V));
  // Same inputs, same operations but the exp: p = exp(x − lse) differs by a few ulp (CUDA's
  // expf ≤ 2 ulp, the CPU's ~1), and every element is p times a factor formed identically, so
  // each is within ~4 ulp relative; at the target g is added to −p·g with p ≤ 0.05 here, no
  // cancellation. Masked rows are exact zeros on both.
  EXPECT_TRUE(AllNear(dlogits.Download(), cpu, 1e-6f, 1e-12f));
}

TEST_F(LogprobsCudaTest, BackwardRowIsBatchInvariant) {
  std::vector<float> lse_, ent_;
  CpuForward(&lse_, &ent_);
  for (const int64_t row : {int64_t{0}, int64_t{1}, int64_t{2}}) {  // One row of each case.
    DeviceBuffer<float> dlogits(N * V), dlp(dlogprobs_), dent(dentropy_), logits(logits_),
        lse(lse_), ent(ent_);
    DeviceBuffer<float> dlogits1(V), dlp1(Row(dlogprobs_, row, 1)), dent1(Row(dentropy_, row, 1)),
        logits1(Row(logits_, row, V)), lse1(Row(lse_, row, 1)), ent1(Row(ent_, row, 1));
    DeviceBuffer<int32_t> targets(targets_), targets1(Row(targets_, row, 1));
    ASSERT_TRUE(kernels::cuda::logprobs_backward(dlogits.get(), dlp.get(), dent.get(), logits.get(),
                                                 lse.get(), ent.get(), targets.get(), N, V));
    ASSERT_TRUE(kernels::cuda::logprobs_backward(dlogits1.get(), dlp1.get(), dent1.get(),
                                                 logits1.get(), lse1.get(), ent1.get(),
                                                 targets1.get(), 1, V));
    EXPECT_TRUE(BitwiseEqual(dlogits1.Download(), Row(dlogits.Download(), row, V)))
        << "row " << row;
  }
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
