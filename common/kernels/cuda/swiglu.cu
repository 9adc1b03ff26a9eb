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

// Element-wise over (N, I) like the forward. With s = sigmoid(g): d gate += dout·up·s·(1 + g·(1 −
// s)) and d up += dout·silu(g), each product rounded in the CPU's order (no fused multiply-add).
__global__ void SwigluBackwardKernel(float* dgate_up, const float* dout, const float* gate_up,
                                     int64_t N, int64_t I) {
  for (int64_t k = GridThread(); k < N * I; k += GridStride()) {
    const int64_t n = k / I;
    const int64_t i = k - n * I;
    const int64_t gi = n * 2 * I + i;
    const float g = gate_up[gi];
    const float u = gate_up[gi + I];
    const float d = dout[k];
    const float denom = 1.0f + expf(-g);
    const float s = 1.0f / denom;
    const float silu = g / denom;
    dgate_up[gi] = dgate_up[gi] + ((d * u) * s) * (1.0f + g * (1.0f - s));
    dgate_up[gi + I] = dgate_up[gi + I] + d * silu;
  }
}

}  // namespace

bool swiglu_forward(float* out, const float* gate_up, int64_t N, int64_t I) {
  if (N <= 0 || I <= 0) return true;
  SwigluForwardKernel<<<ElementwiseBlocks(N * I), kBlockThreads>>>(out, gate_up, N, I);
  return LaunchSucceeded();
}

bool swiglu_backward(float* dgate_up, const float* dout, const float* gate_up, int64_t N,
                     int64_t I) {
  if (N <= 0 || I <= 0) return true;
  SwigluBackwardKernel<<<ElementwiseBlocks(N * I), kBlockThreads>>>(dgate_up, dout, gate_up, N, I);
  return LaunchSucceeded();
}

}  // namespace flywheel::kernels::cuda
