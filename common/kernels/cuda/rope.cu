#include "common/kernels/cuda/launch.cuh"
#include "common/kernels/cuda/rope.h"

namespace flywheel::kernels::cuda {
namespace {

// One thread per rotated pair (x[i], x[i + D/2]) of one head of one row, in a grid stride;
// nothing is reduced. The thread reads both inputs before writing, so out may alias inp.
// Forward: out[i] = x1·c − x2·s, out[i + D/2] = x2·c + x1·s.
// Backward (the transpose, rotation by −angle): out[i] += x1·c + x2·s, out[i + D/2] += x2·c −
// x1·s, with x = dout and out = dinp.
template <bool kBackward>
__global__ void RopeKernel(float* out, const float* inp, const int32_t* pos, const float* cos_table,
                           const float* sin_table, int64_t N, int64_t H, int64_t half) {
  for (int64_t k = GridThread(); k < N * H * half; k += GridStride()) {
    const int64_t head = k / half;  // n * H + h
    const int64_t i = k - head * half;
    const int64_t n = head / H;
    const int64_t t = static_cast<int64_t>(pos[n]) * half + i;
    const float c = cos_table[t];
    const float s = sin_table[t];
    const float* x = inp + head * 2 * half;
    float* y = out + head * 2 * half;
    const float x1 = x[i];
    const float x2 = x[i + half];
    if (kBackward) {
      y[i] = y[i] + (x1 * c + x2 * s);
      y[i + half] = y[i + half] + (x2 * c - x1 * s);
    } else {
      y[i] = x1 * c - x2 * s;
      y[i + half] = x2 * c + x1 * s;
    }
  }
}

template <bool kBackward>
bool LaunchRope(float* out, const float* inp, const int32_t* pos, const RopeTableView& table,
                int64_t N, int64_t H, int64_t D) {
  const int64_t half = D / 2;
  if (N <= 0 || H <= 0 || half <= 0) return true;
  RopeKernel<kBackward><<<ElementwiseBlocks(N * H * half), kBlockThreads>>>(
      out, inp, pos, table.cos, table.sin, N, H, half);
  return LaunchSucceeded();
}

}  // namespace

bool rope_forward(float* out, const float* inp, const int32_t* pos, const RopeTableView& table,
                  int64_t N, int64_t H, int64_t D) {
  return LaunchRope<false>(out, inp, pos, table, N, H, D);
}

bool rope_backward(float* dinp, const float* dout, const int32_t* pos, const RopeTableView& table,
                   int64_t N, int64_t H, int64_t D) {
  return LaunchRope<true>(dinp, dout, pos, table, N, H, D);
}

}  // namespace flywheel::kernels::cuda
