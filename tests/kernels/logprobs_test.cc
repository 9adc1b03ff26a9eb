// Log-softmax with target gather and entropy: forward against a double reference, backward by
// finite differences for both upstream gradients, and rows that do not depend on their batch.
#include "common/kernels/cpu/logprobs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "common/base/thread_pool.h"
#include "tests/kernels/grad_check.h"

namespace flywheel::kernels {
namespace {

using testing::ExpectGradientMatches;
using testing::ExpectNear;
using testing::RandomVector;

std::vector<int32_t> Targets(int64_t N, int64_t V) {
  std::vector<int32_t> t(N);
  for (int64_t n = 0; n < N; ++n) t[n] = static_cast<int32_t>((n * 7919 + 3) % V);
  return t;
}

void Reference(std::vector<double>* logprobs, std::vector<double>* entropy,
               std::vector<double>* lse, const std::vector<float>& logits,
               const std::vector<int32_t>& targets, int64_t N, int64_t V) {
  logprobs->resize(N);
  entropy->resize(N);
  lse->resize(N);
  for (int64_t n = 0; n < N; ++n) {
    const float* x = logits.data() + n * V;
    double m = -INFINITY;
    for (int64_t i = 0; i < V; ++i) m = std::max(m, static_cast<double>(x[i]));
    double s = 0;
    for (int64_t i = 0; i < V; ++i) s += std::exp(x[i] - m);
    const double l = m + std::log(s);
    double h = 0;
    for (int64_t i = 0; i < V; ++i) h -= std::exp(x[i] - l) * (x[i] - l);
    (*logprobs)[n] = x[targets[n]] - l;
    (*lse)[n] = l;
    (*entropy)[n] = h;
  }
}

TEST(LogprobsTest, ForwardMatchesDoubleReference) {
  for (int64_t V : {1, 7, 37, 2048, 50000}) {
    const int64_t N = V > 10000 ? 2 : 5;
    // Logits of a trained model span tens of units; scale 8 gives peaked and flat rows.
    const auto logits = RandomVector(N * V, static_cast<uint32_t>(V), -8, 8);
    const auto targets = Targets(N, V);
    std::vector<float> lp(N), ent(N), lse(N);
    ThreadPool pool(2);
    logprobs_forward(lp.data(), ent.data(), lse.data(), logits.data(), targets.data(), N, V, &pool);
    std::vector<double> rlp, rent, rlse;
    Reference(&rlp, &rent, &rlse, logits, targets, N, V);
    // Sums of up to 5e4 fp32 exps in 32 partial sums: relative error a few 1e-7; the absolute
    // floor covers log-probabilities and entropies near zero (log S has an absolute error ~1e-7).
    ExpectNear("logprobs V=" + std::to_string(V), lp.data(), rlp, 1e-6, 1e-6);
    ExpectNear("entropy V=" + std::to_string(V), ent.data(), rent, 1e-6, 1e-6);
    ExpectNear("lse V=" + std::to_string(V), lse.data(), rlse, 1e-6, 1e-6);
  }
}

TEST(LogprobsTest, EntropyOfExtremeRows) {
  const int64_t V = 100;
  std::vector<float> logits(2 * V, 0.0f);  // Row 0 uniform, row 1 one-hot-like.
  logits[V + 5] = 200.0f;
  const std::vector<int32_t> targets = {3, 5};
  std::vector<float> lp(2), ent(2), lse(2);
  logprobs_forward(lp.data(), ent.data(), lse.data(), logits.data(), targets.data(), 2, V, nullptr);
  EXPECT_NEAR(ent[0], std::log(100.0), 1e-6);
  EXPECT_NEAR(lp[0], -std::log(100.0), 1e-6);
  EXPECT_EQ(ent[1], 0.0f);
  EXPECT_EQ(lp[1], 0.0f);
}

// L = Σ_n R1[n]·logprob[n] (+ Σ_n R2[n]·entropy[n]) checked against dlogits.
void CheckBackward(bool with_entropy) {
  const int64_t N = 3, V = 13;
  auto logits = RandomVector(N * V, 41, -3, 3);
  const auto targets = Targets(N, V);
  const auto r1 = RandomVector(N, 42);
  const auto r2 = RandomVector(N, 43);
  std::vector<float> lp(N), ent(N), lse(N);
  auto loss = [&] {
    logprobs_forward(lp.data(), ent.data(), lse.data(), logits.data(), targets.data(), N, V,
                     nullptr);
    double l = testing::Project(lp.data(), r1);
    if (with_entropy) l += testing::Project(ent.data(), r2);
    return l;
  };
  loss();
  std::vector<float> dlogits(N * V, 123.0f);  // Overwritten, not accumulated.
  logprobs_backward(dlogits.data(), r1.data(), with_entropy ? r2.data() : nullptr, logits.data(),
                    lse.data(), with_entropy ? ent.data() : nullptr, targets.data(), N, V, nullptr);
  ExpectGradientMatches(with_entropy ? "dlogits (logprobs + entropy)" : "dlogits (logprobs)",
                        &logits, std::vector<double>(dlogits.begin(), dlogits.end()), loss);
}

TEST(LogprobsTest, BackwardLogprobsMatchesFiniteDifferences) { CheckBackward(false); }
TEST(LogprobsTest, BackwardWithEntropyMatchesFiniteDifferences) { CheckBackward(true); }

TEST(LogprobsTest, MaskedRowsGetZeroGradient) {
  const int64_t N = 2, V = 19;
  const auto logits = RandomVector(N * V, 44);
  const auto targets = Targets(N, V);
  std::vector<float> lp(N), ent(N), lse(N);
  logprobs_forward(lp.data(), ent.data(), lse.data(), logits.data(), targets.data(), N, V, nullptr);
  const std::vector<float> dlp = {0.0f, 1.0f}, dent = {0.0f, 0.0f};
  std::vector<float> dlogits(N * V, 7.0f);
  logprobs_backward(dlogits.data(), dlp.data(), dent.data(), logits.data(), lse.data(), ent.data(),
                    targets.data(), N, V, nullptr);
  for (int64_t i = 0; i < V; ++i) EXPECT_EQ(dlogits[i], 0.0f);
  double row_sum = 0;  // Σ_v (onehot - p) = 0.
  for (int64_t i = V; i < 2 * V; ++i) row_sum += dlogits[i];
  EXPECT_NEAR(row_sum, 0.0, 1e-6);
}

// A row's forward and backward results are the same bits alone, in a batch, at any position of
// the batch and with any thread count.
TEST(LogprobsTest, RowsAreBatchInvariant) {
  for (int64_t V : {37, 2048, 5003}) {
    const int64_t N = 9;
    const auto logits = RandomVector(N * V, 51, -10, 10);
    const auto targets = Targets(N, V);
    const auto dlp = RandomVector(N, 52);
    const auto dent = RandomVector(N, 53);
    for (int threads : {1, 2, 3}) {
      auto pool = std::make_unique<ThreadPool>(threads);
      ThreadPool* p = threads == 1 ? nullptr : pool.get();
      std::vector<float> lp(N), ent(N), lse(N), dlogits(N * V);
      logprobs_forward(lp.data(), ent.data(), lse.data(), logits.data(), targets.data(), N, V, p);
      logprobs_backward(dlogits.data(), dlp.data(), dent.data(), logits.data(), lse.data(),
                        ent.data(), targets.data(), N, V, p);
      for (int64_t n = 0; n < N; ++n) {
        float lp1, ent1, lse1, lse_only;
        std::vector<float> dl1(V);
        logprobs_forward(&lp1, &ent1, &lse1, logits.data() + n * V, &targets[n], 1, V, nullptr);
        logprobs_backward(dl1.data(), &dlp[n], &dent[n], logits.data() + n * V, &lse1, &ent1,
                          &targets[n], 1, V, nullptr);
        EXPECT_EQ(0, std::memcmp(&lp1, &lp[n], 4)) << "V=" << V << " row " << n;
        EXPECT_EQ(0, std::memcmp(&ent1, &ent[n], 4)) << "V=" << V << " row " << n;
        EXPECT_EQ(0, std::memcmp(&lse1, &lse[n], 4)) << "V=" << V << " row " << n;
        EXPECT_EQ(0, std::memcmp(dl1.data(), dlogits.data() + n * V, V * 4))
            << "V=" << V << " row " << n;
        // Asking for the entropy must not change the log-probability.
        float lp2;
        logprobs_forward(&lp2, nullptr, &lse_only, logits.data() + n * V, &targets[n], 1, V,
                         nullptr);
        EXPECT_EQ(0, std::memcmp(&lp2, &lp[n], 4));
        EXPECT_EQ(0, std::memcmp(&lse_only, &lse[n], 4));
      }
    }
  }
}

}  // namespace
}  // namespace flywheel::kernels
