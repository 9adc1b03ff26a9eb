#include "common/kernels/cuda/launch.cuh"
#include "common/kernels/cuda/swiglu.h"

namespace flywheel::kernels::cuda {
namespace {

// Element-wise over (N, I) in a grid stride; nothing is reduced. silu(g) = g / (1 + exp(-g)),
// the CPU's (and PyTorch's) formula.
__global__ void SwigluForwardKernel(float* out, const float* gate_up, int64_t N, int64_t I) {
  for (int64_t k = GridThread(); k < N * I; k += GridStride()) {
    const int64_t n = k / I;
    const int64_t i = k - n * I;
    const float g = gate_up[n * 2 * I + i];
    const float up = gate_up[n * 2 * I + I + i];
    out[k] = (g / (1.0f + expf(-g))) * up;
  }
}

}  // namespace

bool swiglu_forward(float* out, const float* gate_up, int64_t N, int64_t I) {
  if (N <= 0 || I <= 0) return true;
  SwigluForwardKernel<<<ElementwiseBlocks(N * I), kBlockThreads>>>(out, gate_up, N, I);
  return LaunchSucceeded();
}

}  // namespace flywheel::kernels::cuda
