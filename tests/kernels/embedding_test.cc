// Embedding: forward copies rows; backward scatter-adds rows (repeated tokens included).
#include "common/kernels/cpu/embedding.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/kernels/grad_check.h"

namespace flywheel::kernels {
namespace {

using testing::ExpectNear;
using testing::RandomVector;

TEST(EmbeddingTest, ForwardCopiesRows) {
  const int64_t V = 10, C = 13, N = 6;
  const auto wte = RandomVector(V * C, 1);
  const std::vector<int32_t> tokens = {3, 0, 9, 3, 7, 3};
  std::vector<float> out(N * C);
  embedding_forward(out.data(), tokens.data(), wte.data(), N, C);
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t c = 0; c < C; ++c) EXPECT_EQ(out[n * C + c], wte[tokens[n] * C + c]);
  }
}

TEST(EmbeddingTest, BackwardAccumulatesRepeatedTokens) {
  const int64_t V = 10, C = 13, N = 6;
  const std::vector<int32_t> tokens = {3, 0, 9, 3, 7, 3};
  const auto dout = RandomVector(N * C, 2);
  const auto dwte0 = RandomVector(V * C, 3);
  auto dwte = dwte0;
  embedding_backward(dwte.data(), dout.data(), tokens.data(), N, C);
  std::vector<double> ref(dwte0.begin(), dwte0.end());
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t c = 0; c < C; ++c) ref[tokens[n] * C + c] += dout[n * C + c];
  }
  // Up to three fp32 additions of O(1) values per element.
  ExpectNear("dwte", dwte.data(), ref, 1e-6, 1e-6);
}

}  // namespace
}  // namespace flywheel::kernels
