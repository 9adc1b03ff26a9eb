// Linear layers (Hugging Face layout, weight is (OC, C)) expressed as strided Gemm calls, so that
// forward, packed forward and backward all inherit Gemm's fixed reduction order.
#include "common/kernels/cpu/matmul.h"

#include <algorithm>
#include <vector>

namespace flywheel::kernels {
namespace {

// The bias is where the chain starts (accumulate = true), not a term added after it: the header
// promises out = fma chain started from bias[o].
void FillRowsWithBias(float* out, const float* bias, int64_t N, int64_t OC, ThreadPool* pool) {
  // A decode step's few rows are not worth a pool round trip.
  constexpr int64_t kMinParallelFloats = int64_t{1} << 18;
  ParallelFor(N * OC >= kMinParallelFloats ? pool : nullptr, N, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) std::copy(bias, bias + OC, out + n * OC);
  });
}

}  // namespace

void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t N,
                    int64_t C, int64_t OC, ThreadPool* pool) {
  if (bias != nullptr) FillRowsWithBias(out, bias, N, OC, pool);
  // B = weightᵀ: B[c, o] = weight[o * C + c].
  Gemm(N, OC, C, inp, C, 1, weight, 1, C, out, OC, bias != nullptr, pool);
}

void matmul_forward_packed(float* out, const float* inp, const PackedMatrix& weight_t,
                           const float* bias, int64_t N, ThreadPool* pool) {
  const int64_t C = weight_t.k();
  const int64_t OC = weight_t.n();
  if (bias != nullptr) FillRowsWithBias(out, bias, N, OC, pool);
  GemmPacked(N, inp, C, 1, weight_t, out, OC, bias != nullptr, pool);
}

void pack_linear_weight(PackedMatrix* weight_t, const float* weight, int64_t C, int64_t OC,
                        ThreadPool* pool) {
  weight_t->Pack(C, OC, weight, 1, C, pool);
}

void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int64_t N, int64_t C, int64_t OC, ThreadPool* pool) {
  if (dinp != nullptr) {
    // dinp (N, C) += dout (N, OC) · weight (OC, C).
    Gemm(N, C, OC, dout, OC, 1, weight, C, 1, dinp, C, true, pool);
  }
  if (dweight != nullptr) {
    // dweight (OC, C) += doutᵀ · inp: A[o, n] = dout[n * OC + o].
    Gemm(OC, C, N, dout, 1, OC, inp, C, 1, dweight, C, true, pool);
  }
  if (dbias != nullptr) {
    // Each column is summed over n in order, then added once; threads split the columns.
    ParallelFor(pool, OC, [&](int64_t o0, int64_t o1) {
      std::vector<float> sum(o1 - o0, 0.0f);
      for (int64_t n = 0; n < N; ++n) {
        const float* row = dout + n * OC + o0;
        for (int64_t o = 0; o < o1 - o0; ++o) sum[o] += row[o];
      }
      for (int64_t o = o0; o < o1; ++o) dbias[o] += sum[o - o0];
    });
  }
}

}  // namespace flywheel::kernels
