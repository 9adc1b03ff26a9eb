// The CUDA causal attention against the CPU path, and the invariance contract on the GPU: a query
// row's bits are the same in a full-sequence forward, in a decode step against a paged KV cache
// and in a batched call of several sequences. Without a GPU the tests skip with the CUDA
// runtime's reason; CI has none.
#include <algorithm>

#include "common/kernels/cpu/attention.h"
#include "common/kernels/cuda/attention.h"
#include "tests/kernels_cuda/cuda_test_util.h"

namespace flywheel::cuda_test {
namespace {

// Keys and values of one sequence in device memory, split into blocks of block_size rows that are
// stored in reverse order (block b in slot nb − 1 − b), with the device block tables a
// kernels::KvView points to. block_size >= T gives the contiguous layout. Not copyable.
class DeviceKv {
 public:
  DeviceKv(const std::vector<float>& k, const std::vector<float>& v, int64_t T, int64_t row_stride,
           int64_t block_size)
      : T_(T),
        row_stride_(row_stride),
        block_size_(block_size),
        k_(Scatter(k)),
        v_(Scatter(v)),
        k_table_(Table(k_)),
        v_table_(Table(v_)) {}

  kernels::KvView view() const {
    return {k_table_.get(), v_table_.get(), block_size_, row_stride_};
  }

 private:
  int64_t blocks() const { return (T_ + block_size_ - 1) / block_size_; }
  int64_t block_floats() const { return block_size_ * row_stride_; }

  std::vector<float> Scatter(const std::vector<float>& x) const {
    std::vector<float> pool(blocks() * block_floats());
    for (int64_t j = 0; j < T_; ++j) {
      const int64_t slot = blocks() - 1 - j / block_size_;
      std::copy_n(x.begin() + j * row_stride_, row_stride_,
                  pool.begin() + slot * block_floats() + (j % block_size_) * row_stride_);
    }
    return pool;
  }
  std::vector<const float*> Table(const DeviceBuffer<float>& pool) const {
    std::vector<const float*> table(blocks());
    for (int64_t b = 0; b < blocks(); ++b) {
      table[b] = pool.get() + (blocks() - 1 - b) * block_floats();
    }
    return table;
  }

  int64_t T_, row_stride_, block_size_;
  DeviceBuffer<float> k_, v_;
  DeviceBuffer<const float*> k_table_, v_table_;
};

class AttentionCudaTest : public CudaTest {
 protected:
  // More keys than a block has threads, so the last rows take two tiles; D is no multiple of 8,
  // so the dot's last group of lanes is partial; two query heads per KV head.
  static constexpr int64_t T = 300, H = 4, KVH = 2, D = 36;
  std::vector<float> q_ = RandomVector(T * H * D, 1);
  std::vector<float> k_ = RandomVector(T * KVH * D, 2);
  std::vector<float> v_ = RandomVector(T * KVH * D, 3);
  DeviceBuffer<float> q_dev_{q_};
  DeviceKv contiguous_{k_, v_, T, KVH* D, T};

  // The GPU's full-sequence forward, out (T, H, D).
  std::vector<float> FullForward() {
    DeviceBuffer<float> out(T * H * D);
    EXPECT_TRUE(kernels::cuda::attention_forward(out.get(), nullptr, q_dev_.get(),
                                                 contiguous_.view(), 0, T, H, KVH, D));
    return out.Download();
  }
};

TEST_F(AttentionCudaTest, ForwardMatchesCpu) {
  std::vector<float> out_cpu(T * H * D), att_cpu(T * H * T);
  const float* k = k_.data();
  const float* v = v_.data();
  kernels::attention_forward(out_cpu.data(), att_cpu.data(), q_.data(),
                             kernels::KvView{&k, &v, T, KVH * D}, 0, T, H, KVH, D, nullptr);
  DeviceBuffer<float> out(T * H * D), att(RandomVector(T * H * T, 4));  // att: all overwritten.
  ASSERT_TRUE(kernels::cuda::attention_forward(out.get(), att.get(), q_dev_.get(),
                                               contiguous_.view(), 0, T, H, KVH, D));
  // The scores are the CPU's bits (same dot order, same scale). exp differs by a few ulp (CUDA's
  // expf against the CPU's), and the softmax sum of up to 300 terms in (0, 1] is a tree here
  // and a chain there: its relative error is below ~300 ε ≈ 2e-5 in the worst case, ~1e-6 in
  // practice. So p carries ≲ 2e-5 relative, and out = Σ p·v, a convex combination of |v| ≤ 1,
  // ≲ 2e-5 absolute. The masked probabilities are exact zeros on both.
  EXPECT_TRUE(AllNear(att.Download(), att_cpu, 2e-5f, 1e-30f));
  EXPECT_TRUE(AllNear(out.Download(), out_cpu, 0.0f, 2e-5f));
}

TEST_F(AttentionCudaTest, DecodeStepOnPagedCacheMatchesFullForwardRow) {
  const std::vector<float> full = FullForward();
  // KV blocks of 16 rows, stored out of order: the decode step of position p reads them through
  // the block table.
  const DeviceKv paged(k_, v_, T, KVH * D, 16);
  for (const int64_t p : {int64_t{0}, int64_t{17}, int64_t{255}, int64_t{256}, T - 1}) {
    DeviceBuffer<float> q1(Row(q_, p, H * D)), out1(H * D);
    ASSERT_TRUE(kernels::cuda::attention_forward(out1.get(), nullptr, q1.get(), paged.view(), p, 1,
                                                 H, KVH, D));
    EXPECT_TRUE(BitwiseEqual(out1.Download(), Row(full, p, H * D))) << "position " << p;
  }
}

TEST_F(AttentionCudaTest, SegmentsMatchFullForwardRows) {
  const std::vector<float> full = FullForward();
  const DeviceKv paged(k_, v_, T, KVH * D, 16);
  // Two sequences in one call: a decode step at position 200 (paged cache) and a chunk of
  // positions 10..12 (contiguous); rows 0 and 1..3 of q and out.
  std::vector<float> q_rows = Row(q_, 200, H * D);
  for (int64_t p = 10; p < 13; ++p) {
    const std::vector<float> r = Row(q_, p, H * D);
    q_rows.insert(q_rows.end(), r.begin(), r.end());
  }
  const kernels::AttentionSegment segments[] = {
      {.row0 = 0, .T = 1, .pos0 = 200, .kv = paged.view()},
      {.row0 = 1, .T = 3, .pos0 = 10, .kv = contiguous_.view()}};
  DeviceBuffer<float> q(q_rows), out(4 * H * D);
  ASSERT_TRUE(
      kernels::cuda::attention_forward_segments(out.get(), q.get(), segments, 2, H, KVH, D));
  const std::vector<float> got = out.Download();
  EXPECT_TRUE(BitwiseEqual(Row(got, 0, H * D), Row(full, 200, H * D)));
  for (int64_t p = 10; p < 13; ++p) {
    EXPECT_TRUE(BitwiseEqual(Row(got, p - 9, H * D), Row(full, p, H * D))) << "position " << p;
  }
}

}  // namespace
}  // namespace flywheel::cuda_test
