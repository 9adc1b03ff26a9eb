// Linear layer forward/backward against double-precision references, plus the bitwise promises
// (forward is the fma chain from the bias; packed == unpacked; thread count never matters).
#include "common/kernels/cpu/matmul.h"

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

// Worst-case relative bound of a float chain of n roundings (Higham's gamma_n, u = 2^-24),
// applied to the sum of the magnitudes of every term. It is rigorous, so the comparison cannot
// flake, and still far below what an indexing or accumulation bug produces (errors of O(terms)).
double Gamma(int64_t n) {
  const double u = std::ldexp(1.0, -24);
  return n * u / (1.0 - n * u);
}

void ExpectSameBits(const std::vector<float>& expected, const std::vector<float>& actual,
                    const std::string& what) {
  ASSERT_EQ(expected.size(), actual.size());
  int64_t mismatches = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    if (std::bit_cast<uint32_t>(expected[i]) != std::bit_cast<uint32_t>(actual[i])) ++mismatches;
  }
  EXPECT_EQ(mismatches, 0) << what;
}

struct Shape {
  int64_t N, C, OC;
};

TEST(MatmulTest, ForwardIsTheFmaChainStartedFromBias) {
  ThreadPool pool(2);
  const Shape s{37, 300, 70};
  const auto inp = RandomVector(s.N * s.C, 1);
  const auto weight = RandomVector(s.OC * s.C, 2);
  const auto bias = RandomVector(s.OC, 3);
  for (bool with_bias : {false, true}) {
    std::vector<float> expected(s.N * s.OC), out(s.N * s.OC, 123.0f);
    for (int64_t n = 0; n < s.N; ++n) {
      for (int64_t o = 0; o < s.OC; ++o) {
        float acc = with_bias ? bias[o] : 0.0f;
        for (int64_t c = 0; c < s.C; ++c)
          acc = std::fma(inp[n * s.C + c], weight[o * s.C + c], acc);
        expected[n * s.OC + o] = acc;
      }
    }
    matmul_forward(out.data(), inp.data(), weight.data(), with_bias ? bias.data() : nullptr, s.N,
                   s.C, s.OC, &pool);
    ExpectSameBits(expected, out, with_bias ? "with bias" : "without bias");
  }
}

TEST(MatmulTest, ForwardMatchesDoublePrecision) {
  const Shape s{64, 513, 96};
  const auto inp = RandomVector(s.N * s.C, 4);
  const auto weight = RandomVector(s.OC * s.C, 5);
  const auto bias = RandomVector(s.OC, 6);
  std::vector<float> out(s.N * s.OC);
  matmul_forward(out.data(), inp.data(), weight.data(), bias.data(), s.N, s.C, s.OC, nullptr);
  for (int64_t n = 0; n < s.N; ++n) {
    for (int64_t o = 0; o < s.OC; ++o) {
      double ref = bias[o];
      double magnitude = std::abs(bias[o]);
      for (int64_t c = 0; c < s.C; ++c) {
        const double term = double{inp[n * s.C + c]} * weight[o * s.C + c];
        ref += term;
        magnitude += std::abs(term);
      }
      ASSERT_NEAR(out[n * s.OC + o], ref, Gamma(s.C) * magnitude) << "n=" << n << " o=" << o;
    }
  }
}

TEST(MatmulTest, PackedForwardMatchesForwardBitwise) {
  ThreadPool pool(2);
  const int64_t C = 300, OC = 200;
  const auto weight = RandomVector(OC * C, 7);
  const auto bias = RandomVector(OC, 8);
  PackedMatrix packed;
  pack_linear_weight(&packed, weight.data(), C, OC, &pool);
  ASSERT_EQ(packed.k(), C);
  ASSERT_EQ(packed.n(), OC);
  for (int64_t N : {1, 4, 16, 37}) {
    const auto inp = RandomVector(N * C, static_cast<uint32_t>(N));
    for (const float* b : {static_cast<const float*>(nullptr), bias.data()}) {
      std::vector<float> expected(N * OC), actual(N * OC);
      matmul_forward(expected.data(), inp.data(), weight.data(), b, N, C, OC, &pool);
      matmul_forward_packed(actual.data(), inp.data(), packed, b, N, N % 2 ? nullptr : &pool);
      ExpectSameBits(expected, actual, "N=" + std::to_string(N));
    }
  }
}

struct BackwardCase {
  Shape s;
  std::vector<float> dout, inp, weight;
  std::vector<float> dinp, dweight, dbias;  // Pre-filled: backward must add to them.
};

BackwardCase MakeBackwardCase(Shape s, uint32_t seed) {
  return {s,
          RandomVector(s.N * s.OC, seed),
          RandomVector(s.N * s.C, seed + 1),
          RandomVector(s.OC * s.C, seed + 2),
          RandomVector(s.N * s.C, seed + 3),
          RandomVector(s.OC * s.C, seed + 4),
          RandomVector(s.OC, seed + 5)};
}

TEST(MatmulTest, BackwardMatchesDoublePrecisionAndAccumulates) {
  ThreadPool pool(2);
  const BackwardCase bc = MakeBackwardCase({70, 130, 90}, 10);
  const Shape s = bc.s;
  std::vector<float> dinp = bc.dinp, dweight = bc.dweight, dbias = bc.dbias;
  matmul_backward(dinp.data(), dweight.data(), dbias.data(), bc.dout.data(), bc.inp.data(),
                  bc.weight.data(), s.N, s.C, s.OC, &pool);
  for (int64_t n = 0; n < s.N; ++n) {
    for (int64_t c = 0; c < s.C; ++c) {
      double ref = bc.dinp[n * s.C + c];
      double magnitude = std::abs(ref);
      for (int64_t o = 0; o < s.OC; ++o) {
        const double term = double{bc.dout[n * s.OC + o]} * bc.weight[o * s.C + c];
        ref += term;
        magnitude += std::abs(term);
      }
      ASSERT_NEAR(dinp[n * s.C + c], ref, Gamma(s.OC) * magnitude) << "dinp " << n << "," << c;
    }
  }
  for (int64_t o = 0; o < s.OC; ++o) {
    for (int64_t c = 0; c < s.C; ++c) {
      double ref = bc.dweight[o * s.C + c];
      double magnitude = std::abs(ref);
      for (int64_t n = 0; n < s.N; ++n) {
        const double term = double{bc.dout[n * s.OC + o]} * bc.inp[n * s.C + c];
        ref += term;
        magnitude += std::abs(term);
      }
      ASSERT_NEAR(dweight[o * s.C + c], ref, Gamma(s.N) * magnitude) << "dweight " << o << "," << c;
    }
  }
  for (int64_t o = 0; o < s.OC; ++o) {
    double ref = bc.dbias[o];
    double magnitude = std::abs(ref);
    for (int64_t n = 0; n < s.N; ++n) {
      ref += bc.dout[n * s.OC + o];
      magnitude += std::abs(bc.dout[n * s.OC + o]);
    }
    // N - 1 roundings in the column sum and one more adding it to the old value.
    ASSERT_NEAR(dbias[o], ref, Gamma(s.N) * magnitude) << "dbias " << o;
  }
}

TEST(MatmulTest, BackwardSkipsNullOutputs) {
  const BackwardCase bc = MakeBackwardCase({20, 33, 17}, 20);
  const Shape s = bc.s;
  std::vector<float> all_dinp = bc.dinp, all_dweight = bc.dweight, all_dbias = bc.dbias;
  matmul_backward(all_dinp.data(), all_dweight.data(), all_dbias.data(), bc.dout.data(),
                  bc.inp.data(), bc.weight.data(), s.N, s.C, s.OC, nullptr);
  // Each output alone must equal its value from the full call: skipping one changes no other.
  std::vector<float> dinp = bc.dinp, dweight = bc.dweight, dbias = bc.dbias;
  matmul_backward(dinp.data(), nullptr, nullptr, bc.dout.data(), bc.inp.data(), bc.weight.data(),
                  s.N, s.C, s.OC, nullptr);
  matmul_backward(nullptr, dweight.data(), nullptr, bc.dout.data(), bc.inp.data(), bc.weight.data(),
                  s.N, s.C, s.OC, nullptr);
  matmul_backward(nullptr, nullptr, dbias.data(), bc.dout.data(), bc.inp.data(), bc.weight.data(),
                  s.N, s.C, s.OC, nullptr);
  matmul_backward(nullptr, nullptr, nullptr, bc.dout.data(), bc.inp.data(), bc.weight.data(), s.N,
                  s.C, s.OC, nullptr);
  ExpectSameBits(all_dinp, dinp, "dinp");
  ExpectSameBits(all_dweight, dweight, "dweight");
  ExpectSameBits(all_dbias, dbias, "dbias");
}

TEST(MatmulTest, BackwardThreadCountDoesNotChangeBits) {
  const BackwardCase bc = MakeBackwardCase({300, 64, 200}, 30);
  const Shape s = bc.s;
  std::vector<std::vector<float>> results;
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    std::vector<float> dinp = bc.dinp, dweight = bc.dweight, dbias = bc.dbias;
    matmul_backward(dinp.data(), dweight.data(), dbias.data(), bc.dout.data(), bc.inp.data(),
                    bc.weight.data(), s.N, s.C, s.OC, &pool);
    if (!results.empty()) {
      ExpectSameBits(results[0], dinp, "dinp, threads=" + std::to_string(threads));
      ExpectSameBits(results[1], dweight, "dweight, threads=" + std::to_string(threads));
      ExpectSameBits(results[2], dbias, "dbias, threads=" + std::to_string(threads));
    } else {
      results = {dinp, dweight, dbias};
    }
  }
}

}  // namespace
}  // namespace flywheel::kernels
