// The CUDA kernels' launch shapes, checked on the host (no GPU, no nvcc needed): block counts of
// element-wise launches, the grid-stride walk covering every element exactly once, and the
// gradient-norm chunk count. A wrong count here would skip or double-process elements on the GPU.
#include "common/kernels/cuda/launch_shape.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace flywheel::kernels::cuda {
namespace {

constexpr int64_t kFullGrid = kMaxElementwiseBlocks * kBlockThreads;  // 2^24 elements.

TEST(LaunchShapeTest, ElementwiseBlocks) {
  EXPECT_EQ(ElementwiseBlocks(-1), 0u);
  EXPECT_EQ(ElementwiseBlocks(0), 0u);
  EXPECT_EQ(ElementwiseBlocks(1), 1u);
  EXPECT_EQ(ElementwiseBlocks(255), 1u);
  EXPECT_EQ(ElementwiseBlocks(256), 1u);
  EXPECT_EQ(ElementwiseBlocks(257), 2u);
  EXPECT_EQ(ElementwiseBlocks(kFullGrid - 1), 1u << 16);
  EXPECT_EQ(ElementwiseBlocks(kFullGrid), 1u << 16);
  EXPECT_EQ(ElementwiseBlocks(kFullGrid + 1), 1u << 16);  // Capped: the grid strides instead.
  EXPECT_EQ(ElementwiseBlocks(int64_t{1} << 40), 1u << 16);
  EXPECT_EQ(ElementwiseBlocks(INT64_MAX), 1u << 16);  // No overflow in the rounding up.
}

// Runs the kernels' loop `for (i = start; i < n; i += step)` for every thread of an
// ElementwiseBlocks(n) grid and counts the visits of each element.
std::vector<uint8_t> GridStrideVisits(int64_t n) {
  std::vector<uint8_t> visits(n, 0);
  const unsigned blocks = ElementwiseBlocks(n);
  const int64_t step = GridStrideStep(blocks);
  for (unsigned b = 0; b < blocks; ++b) {
    for (unsigned t = 0; t < kBlockThreads; ++t) {
      for (int64_t i = GridStrideStart(b, t); i < n; i += step) ++visits[i];
    }
  }
  return visits;
}

TEST(LaunchShapeTest, GridStrideVisitsEveryElementOnce) {
  for (const int64_t n : {int64_t{0}, int64_t{1}, int64_t{255}, int64_t{256}, int64_t{257},
                          kFullGrid - 1, kFullGrid, kFullGrid + 1, 3 * kFullGrid + 12345}) {
    const std::vector<uint8_t> visits = GridStrideVisits(n);
    int64_t wrong = 0;
    for (const uint8_t v : visits) wrong += v != 1;
    EXPECT_EQ(wrong, 0) << "n = " << n;
  }
}

TEST(LaunchShapeTest, GridStrideStartAndStep) {
  EXPECT_EQ(GridStrideStart(0, 0), 0);
  EXPECT_EQ(GridStrideStart(3, 5), 3 * 256 + 5);
  // 64-bit: the largest block index times the block size exceeds 32 bits.
  EXPECT_EQ(GridStrideStart(0xFFFFFFFFu, 255), int64_t{0xFFFFFFFF} * 256 + 255);
  EXPECT_EQ(GridStrideStep(1u << 16), kFullGrid);
}

TEST(LaunchShapeTest, NormChunks) {
  EXPECT_EQ(NormChunks(0), 0);
  EXPECT_EQ(NormChunks(1), 1);
  EXPECT_EQ(NormChunks(kNormChunk), 1);
  EXPECT_EQ(NormChunks(kNormChunk + 1), 2);
  EXPECT_EQ(NormChunks(int64_t{7} << 30), (int64_t{7} << 30) / kNormChunk);  // A 7B model.
  EXPECT_EQ(NormChunks(INT64_MAX), INT64_MAX / kNormChunk + 1);              // No overflow.
  // grad_norm launches one block per chunk: 2^45 - 2^14 parameters are the most that fit.
  EXPECT_EQ(NormChunks(kMaxGridX * kNormChunk), kMaxGridX);
  EXPECT_GT(NormChunks(kMaxGridX * kNormChunk + 1), kMaxGridX);
}

}  // namespace
}  // namespace flywheel::kernels::cuda
