// Gemm and GemmPacked against the reduction contract in gemm.h, bit for bit: a scalar std::fma
// loop in k order is the reference, and no shape, stride, packing or thread count may change a bit.
#include "common/kernels/cpu/gemm.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "common/base/thread_pool.h"
#include "tests/kernels/grad_check.h"

namespace flywheel::kernels {
namespace {

using testing::RandomVector;

// The contract of gemm.h, written out literally.
void ReferenceGemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t rsA, int64_t csA,
                   const float* B, int64_t rsB, int64_t csB, float* C, int64_t ldC,
                   bool accumulate) {
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      float acc = accumulate ? C[m * ldC + n] : 0.0f;
      for (int64_t k = 0; k < K; ++k)
        acc = std::fma(A[m * rsA + k * csA], B[k * rsB + n * csB], acc);
      C[m * ldC + n] = acc;
    }
  }
}

// Compares M rows of N floats (leading dimension ld) by their bit patterns.
void ExpectSameBits(const float* expected, const float* actual, int64_t M, int64_t N, int64_t ld,
                    const std::string& what) {
  int64_t mismatches = 0;
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      const float e = expected[m * ld + n];
      const float a = actual[m * ld + n];
      if (std::bit_cast<uint32_t>(e) != std::bit_cast<uint32_t>(a)) {
        if (mismatches++ == 0) {
          ADD_FAILURE() << what << ": first mismatch at (" << m << ", " << n << "): expected " << e
                        << " got " << a;
        }
      }
    }
  }
  EXPECT_EQ(mismatches, 0) << what;
}

// A (M, K) and B (K, N) stored row-major or transposed, with padded leading dimensions.
struct Layout {
  bool transposed;
  int64_t pad;
};

struct Operand {
  std::vector<float> data;
  int64_t rs, cs;
};

Operand MakeOperand(int64_t rows, int64_t cols, Layout layout, uint32_t seed) {
  if (layout.transposed) {
    const int64_t ld = rows + layout.pad;
    return {RandomVector(cols * ld, seed), 1, ld};
  }
  const int64_t ld = cols + layout.pad;
  return {RandomVector(rows * ld, seed), ld, 1};
}

void CheckAgainstReference(int64_t M, int64_t N, int64_t K, Layout la, Layout lb, int64_t c_pad,
                           bool accumulate, ThreadPool* pool, uint32_t seed) {
  const Operand a = MakeOperand(M, K, la, seed);
  const Operand b = MakeOperand(K, N, lb, seed + 1);
  const int64_t ldc = N + c_pad;
  std::vector<float> expected = RandomVector(M * ldc, seed + 2);  // Pads are sentinels too.
  std::vector<float> actual = expected;
  ReferenceGemm(M, N, K, a.data.data(), a.rs, a.cs, b.data.data(), b.rs, b.cs, expected.data(), ldc,
                accumulate);
  Gemm(M, N, K, a.data.data(), a.rs, a.cs, b.data.data(), b.rs, b.cs, actual.data(), ldc,
       accumulate, pool);
  std::string what = "M=" + std::to_string(M) + " N=" + std::to_string(N) +
                     " K=" + std::to_string(K) + " accumulate=" + std::to_string(accumulate);
  ExpectSameBits(expected.data(), actual.data(), M, ldc, ldc, what);
}

TEST(GemmTest, AllSmallShapesMatchScalarReferenceBitwise) {
  ThreadPool pool(2);
  // K = 1, odd, within one KC block (512), and over two and three blocks without being a
  // multiple of any block size.
  for (int64_t K : {1, 7, 300, 1100}) {
    for (int64_t M = 1; M <= 20; ++M) {
      for (int64_t N = 1; N <= 20; ++N) {
        const bool accumulate = (M + N + K) % 2 == 0;
        CheckAgainstReference(M, N, K, {false, 0}, {false, 0}, 0, accumulate,
                              N % 3 == 0 ? &pool : nullptr, static_cast<uint32_t>(M * 100 + N));
      }
    }
  }
}

TEST(GemmTest, LargeShapeMatchesScalarReferenceBitwise) {
  ThreadPool pool(2);
  CheckAgainstReference(300, 700, 513, {false, 0}, {false, 0}, 0, false, &pool, 1);
  CheckAgainstReference(300, 700, 513, {false, 0}, {true, 0}, 0, true, &pool, 2);
}

// N past one column block (3072) and K past one packed-B hand-off make Gemm repack mid-call.
TEST(GemmTest, ColumnAndPackingBlockBoundariesMatchReferenceBitwise) {
  ThreadPool pool(2);
  CheckAgainstReference(13, 3100, 1100, {false, 0}, {true, 0}, 0, true, &pool, 40);
}

TEST(GemmTest, StridedAndTransposedOperandsMatchReferenceBitwise) {
  ThreadPool pool(2);
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      for (bool accumulate : {false, true}) {
        // Padding leaves gaps between rows (or columns); C's pad must stay untouched.
        CheckAgainstReference(37, 45, 300, {ta, 3}, {tb, 5}, 7, accumulate, &pool, 10);
        CheckAgainstReference(5, 100, 70, {ta, 1}, {tb, 0}, 2, accumulate, nullptr, 11);
        CheckAgainstReference(70, 3, 600, {ta, 0}, {tb, 2}, 0, accumulate, &pool, 12);
      }
    }
  }
}

TEST(GemmTest, ThreadCountDoesNotChangeBits) {
  ThreadPool pool2(2);
  ThreadPool pool3(3);
  for (int64_t M : {1, 5, 37, 200}) {
    const int64_t N = 300, K = 300;
    const auto a = RandomVector(M * K, 20);
    const auto b = RandomVector(K * N, 21);
    std::vector<float> c1(M * N), c2(M * N), c3(M * N);
    Gemm(M, N, K, a.data(), K, 1, b.data(), 1, K, c1.data(), N, false, nullptr);
    Gemm(M, N, K, a.data(), K, 1, b.data(), 1, K, c2.data(), N, false, &pool2);
    Gemm(M, N, K, a.data(), K, 1, b.data(), 1, K, c3.data(), N, false, &pool3);
    ExpectSameBits(c1.data(), c2.data(), M, N, N, "2 threads, M=" + std::to_string(M));
    ExpectSameBits(c1.data(), c3.data(), M, N, N, "3 threads, M=" + std::to_string(M));
  }
}

// The property the rollout server and learner rely on: a row's result does not depend on which
// other rows share the call.
TEST(GemmTest, RowsAreBatchInvariant) {
  ThreadPool pool(2);
  const int64_t big = 2048, K = 512, N = 300;
  const auto a = RandomVector(big * K, 30);
  const auto w = RandomVector(N * K, 31);  // (N, K): B = wᵀ as in a linear layer.
  PackedMatrix packed;
  packed.Pack(K, N, w.data(), 1, K, &pool);
  std::vector<float> c_big(big * N), c_mid(37 * N), c_one(N), c_one_packed(N);
  Gemm(big, N, K, a.data(), K, 1, w.data(), 1, K, c_big.data(), N, false, &pool);
  Gemm(37, N, K, a.data(), K, 1, w.data(), 1, K, c_mid.data(), N, false, &pool);
  ExpectSameBits(c_big.data(), c_mid.data(), 37, N, N, "M=37 vs M=2048");
  for (int64_t m : {0, 1, 5, 6, 36, 1000, 2047}) {
    const float* row = a.data() + m * K;
    Gemm(1, N, K, row, K, 1, w.data(), 1, K, c_one.data(), N, false, &pool);
    GemmPacked(1, row, K, 1, packed, c_one_packed.data(), N, false, nullptr);
    ExpectSameBits(c_big.data() + m * N, c_one.data(), 1, N, N, "row " + std::to_string(m));
    ExpectSameBits(c_big.data() + m * N, c_one_packed.data(), 1, N, N,
                   "packed row " + std::to_string(m));
  }
}

TEST(GemmPackedTest, MatchesGemmBitwise) {
  ThreadPool pool(2);
  for (int64_t K : {1, 300, 513}) {
    for (int64_t N : {1, 17, 300}) {
      for (bool tb : {false, true}) {
        const Operand b = MakeOperand(K, N, {tb, 1}, static_cast<uint32_t>(K + N));
        PackedMatrix packed;
        packed.Pack(K, N, b.data.data(), b.rs, b.cs, &pool);
        ASSERT_EQ(packed.k(), K);
        ASSERT_EQ(packed.n(), N);
        for (int64_t M : {1, 2, 3, 4, 5, 6, 7, 16, 37, 300}) {
          for (bool accumulate : {false, true}) {
            const auto a = RandomVector(M * K, static_cast<uint32_t>(M));
            std::vector<float> expected = RandomVector(M * N, 7);
            std::vector<float> actual = expected;
            Gemm(M, N, K, a.data(), K, 1, b.data.data(), b.rs, b.cs, expected.data(), N, accumulate,
                 &pool);
            GemmPacked(M, a.data(), K, 1, packed, actual.data(), N, accumulate,
                       M % 2 == 0 ? &pool : nullptr);
            ExpectSameBits(
                expected.data(), actual.data(), M, N, N,
                "M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" + std::to_string(K));
          }
        }
      }
    }
  }
}

TEST(GemmPackedTest, RepackingWithNewDataOrShape) {
  ThreadPool pool(2);
  PackedMatrix packed;
  const int64_t M = 9;
  struct Case {
    int64_t K, N;
    uint32_t seed;
  };
  for (const Case& cs :
       {Case{300, 100, 1}, Case{300, 100, 2}, Case{40, 33, 3}, Case{300, 100, 4}}) {
    const int64_t K = cs.K, N = cs.N;
    const uint32_t seed = cs.seed;
    const auto w = RandomVector(N * K, seed);
    packed.Pack(K, N, w.data(), 1, K, &pool);  // Same shape: storage reused, contents replaced.
    const auto a = RandomVector(M * K, seed + 10);
    std::vector<float> expected(M * N), actual(M * N);
    ReferenceGemm(M, N, K, a.data(), K, 1, w.data(), 1, K, expected.data(), N, false);
    GemmPacked(M, a.data(), K, 1, packed, actual.data(), N, false, &pool);
    ExpectSameBits(expected.data(), actual.data(), M, N, N, "seed " + std::to_string(seed));
  }
  PackedMatrix moved = std::move(packed);
  const auto w = RandomVector(100 * 300, 4);
  const auto a = RandomVector(M * 300, 14);
  std::vector<float> expected(M * 100), actual(M * 100);
  ReferenceGemm(M, 100, 300, a.data(), 300, 1, w.data(), 1, 300, expected.data(), 100, false);
  GemmPacked(M, a.data(), 300, 1, moved, actual.data(), 100, false, &pool);
  ExpectSameBits(expected.data(), actual.data(), M, 100, 100, "after move");
}

TEST(GemmTest, EmptyReductionFollowsTheContract) {
  std::vector<float> c(6, 3.0f);
  const float unused = 0.0f;
  Gemm(2, 3, 0, &unused, 0, 1, &unused, 3, 1, c.data(), 3, true, nullptr);
  EXPECT_EQ(c, std::vector<float>(6, 3.0f));  // accumulate: the chain is just C.
  Gemm(2, 3, 0, &unused, 0, 1, &unused, 3, 1, c.data(), 3, false, nullptr);
  EXPECT_EQ(c, std::vector<float>(6, 0.0f));                                 // otherwise: +0.0f.
  Gemm(0, 3, 4, &unused, 4, 1, &unused, 3, 1, c.data(), 3, false, nullptr);  // No rows: no-op.
}

}  // namespace
}  // namespace flywheel::kernels
