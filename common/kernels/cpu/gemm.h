// General fp32 matrix multiply with a fixed reduction order (batch invariance).
//
// Reduction contract, bit for bit, whatever M, N, the strides, the packing or the thread count:
//   acc = accumulate ? C[m, n] : 0.0f
//   for k = 0 .. K-1:  acc = fmaf(A[m, k], B[k, n], acc)      (one rounding per step)
//   C[m, n] = acc
// so row m of C depends only on row m of A and on B: a sequence's logits do not change with what
// else is in the batch. Threads split the output into tiles; no reduction is ever split.
//
// Strided operands: element (i, j) of A is A[i * rsA + j * csA]; likewise B. C is row-major with
// leading dimension ldC. Operands must not alias C.
#pragma once

#include <cstdint>
#include <vector>

#include "common/base/thread_pool.h"

namespace flywheel::kernels {

// C (M, N) = [C +] A (M, K) · B (K, N). pool may be null (single-threaded).
void Gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t rsA, int64_t csA, const float* B,
          int64_t rsB, int64_t csB, float* C, int64_t ldC, bool accumulate, ThreadPool* pool);

// B (K, N) stored once in the kernel's panel layout, for operands reused across many calls
// (inference weights): GemmPacked skips the per-call packing that dominates at small M.
// Owns its storage; movable, not copyable.
class PackedMatrix {
 public:
  PackedMatrix() = default;
  PackedMatrix(PackedMatrix&&) = default;
  PackedMatrix& operator=(PackedMatrix&&) = default;
  PackedMatrix(const PackedMatrix&) = delete;
  PackedMatrix& operator=(const PackedMatrix&) = delete;

  // Packs B (K, N) given with strides (rsB, csB). Reuses storage when the shape is unchanged.
  void Pack(int64_t K, int64_t N, const float* B, int64_t rsB, int64_t csB, ThreadPool* pool);

  int64_t k() const { return k_; }
  int64_t n() const { return n_; }
  const float* data() const { return data_.data(); }
  int64_t bytes() const { return static_cast<int64_t>(data_.size() * sizeof(float)); }

 private:
  int64_t k_ = 0;
  int64_t n_ = 0;
  std::vector<float> data_;  // Layout private to gemm.cc.
};

// Same contract and bit-identical results as Gemm with the B that was packed.
void GemmPacked(int64_t M, const float* A, int64_t rsA, int64_t csA, const PackedMatrix& B,
                float* C, int64_t ldC, bool accumulate, ThreadPool* pool);

}  // namespace flywheel::kernels
