// Attention: forward against a double-precision reference, backward by finite differences (GQA
// included), and the invariance contract of attention.h checked bit for bit.
#include "common/kernels/cpu/attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <ostream>
#include <vector>

#include "common/base/thread_pool.h"
#include "tests/kernels/grad_check.h"

namespace flywheel::kernels {
namespace {

using testing::AddedGradient;
using testing::ExpectGradientMatches;
using testing::ExpectNear;
using testing::Project;
using testing::RandomVector;

// Keys and values (T, KVH, D) copied into blocks of block_size rows, as a paged KV cache holds
// them.
struct PagedKv {
  PagedKv(const std::vector<float>& k, const std::vector<float>& v, int64_t T, int64_t KVH,
          int64_t D, int64_t block_size) {
    const int64_t row = KVH * D;
    for (int64_t j0 = 0; j0 < T; j0 += block_size) {
      k_store.emplace_back(block_size * row, NAN);  // Unused rows are poison.
      v_store.emplace_back(block_size * row, NAN);
      const int64_t rows = std::min(block_size, T - j0);
      std::memcpy(k_store.back().data(), k.data() + j0 * row, rows * row * sizeof(float));
      std::memcpy(v_store.back().data(), v.data() + j0 * row, rows * row * sizeof(float));
    }
    for (size_t b = 0; b < k_store.size(); ++b) {
      k_ptrs.push_back(k_store[b].data());
      v_ptrs.push_back(v_store[b].data());
    }
    view.k_blocks = k_ptrs.data();
    view.v_blocks = v_ptrs.data();
    view.block_size = block_size;
    view.row_stride = row;
  }
  std::vector<std::vector<float>> k_store, v_store;
  std::vector<const float*> k_ptrs, v_ptrs;
  KvView view;
};

// A contiguous (T, KVH, D) pair as one block.
struct ContiguousKv {
  ContiguousKv(const float* k, const float* v, int64_t T, int64_t KVH, int64_t D) : kp(k), vp(v) {
    view.k_blocks = &kp;
    view.v_blocks = &vp;
    view.block_size = T;
    view.row_stride = KVH * D;
  }
  const float* kp;
  const float* vp;
  KvView view;
};

// Double-precision causal GQA attention: out (T, H, D), att (T, H, T).
void ReferenceAttention(std::vector<double>* out, std::vector<double>* att,
                        const std::vector<float>& q, const std::vector<float>& k,
                        const std::vector<float>& v, int64_t T, int64_t H, int64_t KVH, int64_t D) {
  out->assign(T * H * D, 0.0);
  att->assign(T * H * T, 0.0);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t h = 0; h < H; ++h) {
      const int64_t g = h / (H / KVH);
      std::vector<double> s(t + 1);
      double m = -INFINITY;
      for (int64_t j = 0; j <= t; ++j) {
        double dot = 0;
        for (int64_t d = 0; d < D; ++d) {
          dot += static_cast<double>(q[(t * H + h) * D + d]) * k[(j * KVH + g) * D + d];
        }
        s[j] = dot * scale;
        m = std::max(m, s[j]);
      }
      double sum = 0;
      for (int64_t j = 0; j <= t; ++j) sum += (s[j] = std::exp(s[j] - m));
      for (int64_t j = 0; j <= t; ++j) {
        const double p = s[j] / sum;
        (*att)[(t * H + h) * T + j] = p;
        for (int64_t d = 0; d < D; ++d) (*out)[(t * H + h) * D + d] += p * v[(j * KVH + g) * D + d];
      }
    }
  }
}

struct Shape {
  int64_t T, H, KVH, D;
};
void PrintTo(const Shape& s, std::ostream* os) {
  *os << "T=" << s.T << " H=" << s.H << " KVH=" << s.KVH << " D=" << s.D;
}

class AttentionShapeTest : public ::testing::TestWithParam<Shape> {};

TEST_P(AttentionShapeTest, ForwardMatchesDoubleReference) {
  const auto [T, H, KVH, D] = GetParam();
  const auto q = RandomVector(T * H * D, 1, -2, 2);
  const auto k = RandomVector(T * KVH * D, 2, -2, 2);
  const auto v = RandomVector(T * KVH * D, 3);
  ContiguousKv kv(k.data(), v.data(), T, KVH, D);
  std::vector<float> out(T * H * D), att(T * H * T, -1.0f);
  attention_forward(out.data(), att.data(), q.data(), kv.view, 0, T, H, KVH, D, nullptr);
  std::vector<double> ref_out, ref_att;
  ReferenceAttention(&ref_out, &ref_att, q, k, v, T, H, KVH, D);
  // fp32 dot products of length D and sums of up to T terms of O(1) values: a few 1e-7 relative,
  // with headroom. Probabilities beyond the causal limit must be exactly zero.
  ExpectNear("out", out.data(), ref_out, 1e-6, 1e-5);
  ExpectNear("att", att.data(), ref_att, 1e-7, 1e-5);
}

TEST_P(AttentionShapeTest, BackwardMatchesFiniteDifferences) {
  const auto [T, H, KVH, D] = GetParam();
  auto q = RandomVector(T * H * D, 11);
  auto k = RandomVector(T * KVH * D, 12);
  auto v = RandomVector(T * KVH * D, 13);
  const auto r = RandomVector(T * H * D, 14);
  std::vector<float> out(T * H * D), att(T * H * T);
  auto loss = [&] {
    ContiguousKv kv(k.data(), v.data(), T, KVH, D);
    attention_forward(out.data(), nullptr, q.data(), kv.view, 0, T, H, KVH, D, nullptr);
    return Project(out.data(), r);
  };
  ContiguousKv kv(k.data(), v.data(), T, KVH, D);
  attention_forward(out.data(), att.data(), q.data(), kv.view, 0, T, H, KVH, D, nullptr);
  // Pre-filled gradient buffers: the backward must add, not overwrite.
  const auto dq0 = RandomVector(q.size(), 15), dk0 = RandomVector(k.size(), 16),
             dv0 = RandomVector(v.size(), 17);
  auto dq = dq0, dk = dk0, dv = dv0;
  ThreadPool pool(2);
  attention_backward(dq.data(), dk.data(), dv.data(), r.data(), q.data(), k.data(), v.data(),
                     att.data(), T, H, KVH, D, &pool);
  ExpectGradientMatches("dq", &q, AddedGradient(dq, dq0), loss);
  ExpectGradientMatches("dk", &k, AddedGradient(dk, dk0), loss);
  ExpectGradientMatches("dv", &v, AddedGradient(dv, dv0), loss);
}

TEST_P(AttentionShapeTest, BackwardIsThreadCountIndependent) {
  const auto [T, H, KVH, D] = GetParam();
  const auto q = RandomVector(T * H * D, 21), k = RandomVector(T * KVH * D, 22),
             v = RandomVector(T * KVH * D, 23), dout = RandomVector(T * H * D, 24);
  std::vector<float> out(T * H * D), att(T * H * T);
  ContiguousKv kv(k.data(), v.data(), T, KVH, D);
  attention_forward(out.data(), att.data(), q.data(), kv.view, 0, T, H, KVH, D, nullptr);
  std::vector<float> ref_dq, ref_dk, ref_dv;
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    std::vector<float> dq(q.size(), 0.5f), dk(k.size(), 0.5f), dv(v.size(), 0.5f);
    attention_backward(dq.data(), dk.data(), dv.data(), dout.data(), q.data(), k.data(), v.data(),
                       att.data(), T, H, KVH, D, threads == 1 ? nullptr : &pool);
    if (threads == 1) {
      ref_dq = dq, ref_dk = dk, ref_dv = dv;
      continue;
    }
    EXPECT_EQ(0, std::memcmp(dq.data(), ref_dq.data(), dq.size() * 4)) << threads << " threads";
    EXPECT_EQ(0, std::memcmp(dk.data(), ref_dk.data(), dk.size() * 4)) << threads << " threads";
    EXPECT_EQ(0, std::memcmp(dv.data(), ref_dv.data(), dv.size() * 4)) << threads << " threads";
  }
}

// T = 11 puts keys both in Dot8 groups and in the scalar tail; D = 12 exercises partial vectors.
INSTANTIATE_TEST_SUITE_P(Shapes, AttentionShapeTest,
                         ::testing::Values(Shape{5, 2, 2, 8}, Shape{11, 4, 2, 12},
                                           Shape{11, 4, 1, 12}, Shape{9, 4, 2, 32},
                                           Shape{10, 2, 1, 37}));

// attention.h's contract: a (position, head) output is the same bits whether it comes from a
// full-sequence forward, from one-token decode steps over a paged KV of any block size, or from a
// chunked prefill, with any thread count.
class AttentionInvarianceTest : public ::testing::TestWithParam<int64_t /*D*/> {};

TEST_P(AttentionInvarianceTest, FullForwardEqualsPagedDecodeBitwise) {
  const int64_t L = 45, H = 8, KVH = 4, D = GetParam();
  const auto q = RandomVector(L * H * D, 31, -3, 3);
  const auto k = RandomVector(L * KVH * D, 32, -3, 3);
  const auto v = RandomVector(L * KVH * D, 33);
  ContiguousKv contiguous(k.data(), v.data(), L, KVH, D);
  std::vector<float> full(L * H * D), full_att(L * H * L);
  attention_forward(full.data(), full_att.data(), q.data(), contiguous.view, 0, L, H, KVH, D,
                    nullptr);

  for (int threads : {1, 2, 3}) {
    auto pool = std::make_unique<ThreadPool>(threads);
    ThreadPool* p = threads == 1 ? nullptr : pool.get();
    std::vector<float> out(L * H * D), att(L * H * L);
    attention_forward(out.data(), att.data(), q.data(), contiguous.view, 0, L, H, KVH, D, p);
    EXPECT_EQ(0, std::memcmp(out.data(), full.data(), out.size() * 4)) << threads;
    EXPECT_EQ(0, std::memcmp(att.data(), full_att.data(), att.size() * 4)) << threads;
    // Without att (inference) the output is the same too.
    attention_forward(out.data(), nullptr, q.data(), contiguous.view, 0, L, H, KVH, D, p);
    EXPECT_EQ(0, std::memcmp(out.data(), full.data(), out.size() * 4)) << threads;

    for (int64_t block_size : {16, 3}) {
      PagedKv paged(k, v, L, KVH, D, block_size);
      for (int64_t pos = 0; pos < L; ++pos) {
        std::vector<float> step(H * D), step_att(H * (pos + 1));
        attention_forward(step.data(), step_att.data(), q.data() + pos * H * D, paged.view, pos, 1,
                          H, KVH, D, p);
        ASSERT_EQ(0, std::memcmp(step.data(), full.data() + pos * H * D, H * D * 4))
            << "decode position " << pos << ", block size " << block_size << ", " << threads
            << " threads";
        for (int64_t h = 0; h < H; ++h) {
          ASSERT_EQ(0, std::memcmp(step_att.data() + h * (pos + 1),
                                   full_att.data() + (pos * H + h) * L, (pos + 1) * 4))
              << "probabilities at position " << pos << ", head " << h;
        }
      }
      // Chunked prefill: positions 20..44 in one call after a cached prefix.
      const int64_t pos0 = 20, T = L - pos0;
      std::vector<float> chunk(T * H * D);
      attention_forward(chunk.data(), nullptr, q.data() + pos0 * H * D, paged.view, pos0, T, H, KVH,
                        D, p);
      EXPECT_EQ(0, std::memcmp(chunk.data(), full.data() + pos0 * H * D, chunk.size() * 4))
          << "chunked prefill, block size " << block_size;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(HeadDims, AttentionInvarianceTest, ::testing::Values(32, 12));

}  // namespace
}  // namespace flywheel::kernels
