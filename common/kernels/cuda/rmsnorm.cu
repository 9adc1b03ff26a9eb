#include "common/kernels/cuda/launch.cuh"
#include "common/kernels/cuda/rmsnorm.h"

namespace flywheel::kernels::cuda {
namespace {

// One block per row: Σ x² in BlockReduce's fixed order, which depends only on C, never on N.
__global__ void RmsnormForwardKernel(float* out, float* rstd, const float* inp, const float* weight,
                                     float eps, int64_t C) {
  const float* x = inp + blockIdx.x * C;
  float sum = 0.0f;
  for (int64_t i = threadIdx.x; i < C; i += kBlockThreads) sum = fmaf(x[i], x[i], sum);
  sum = BlockReduce(sum, SumOp());
  const float r = 1.0f / sqrtf(sum / static_cast<float>(C) + eps);
  if (threadIdx.x == 0 && rstd != nullptr) rstd[blockIdx.x] = r;
  float* y = out + blockIdx.x * C;
  for (int64_t i = threadIdx.x; i < C; i += kBlockThreads) y[i] = (x[i] * r) * weight[i];
}

// One block per row: Σ_j w_j·dy_j·x_j in BlockReduce's fixed order (depends on C only), then
//   dx = r·(w·dy) − (r³/C)·(Σ_j w_j·dy_j·x_j)·x, the scalar formed in double as on the CPU.
__global__ void RmsnormBackwardInputKernel(float* dinp, const float* dout, const float* inp,
                                           const float* weight, const float* rstd, int64_t C) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * C;
  const float* x = inp + row;
  const float* dy = dout + row;
  float dot = 0.0f;
  for (int64_t i = threadIdx.x; i < C; i += kBlockThreads) dot = fmaf(weight[i] * dy[i], x[i], dot);
  dot = BlockReduce(dot, SumOp());
  const float r = rstd[blockIdx.x];
  const double rd = r;
  const float c =
      static_cast<float>(static_cast<double>(dot) * rd * rd * rd / static_cast<double>(C));
  float* dx = dinp + row;
  for (int64_t i = threadIdx.x; i < C; i += kBlockThreads)
    dx[i] += r * (weight[i] * dy[i]) - c * x[i];
}

// One thread per column, adding rows n = 0..N-1 in order: the CPU's operations in the CPU's
// order, so dweight matches it bit for bit. No atomics: a column has one writer.
__global__ void RmsnormBackwardWeightKernel(float* dweight, const float* dout, const float* inp,
                                            const float* rstd, int64_t N, int64_t C) {
  for (int64_t c = GridThread(); c < C; c += GridStride()) {
    float acc = dweight[c];
    for (int64_t n = 0; n < N; ++n) acc = acc + dout[n * C + c] * (inp[n * C + c] * rstd[n]);
    dweight[c] = acc;
  }
}

}  // namespace

bool rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, float eps,
                     int64_t N, int64_t C) {
  if (N <= 0) return true;
  RmsnormForwardKernel<<<static_cast<unsigned>(N), kBlockThreads>>>(out, rstd, inp, weight, eps, C);
  return LaunchSucceeded();
}

bool rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp,
                      const float* weight, const float* rstd, int64_t N, int64_t C) {
  if (N <= 0) return true;
  RmsnormBackwardInputKernel<<<static_cast<unsigned>(N), kBlockThreads>>>(dinp, dout, inp, weight,
                                                                          rstd, C);
  if (!LaunchSucceeded()) return false;
  RmsnormBackwardWeightKernel<<<ElementwiseBlocks(C), kBlockThreads>>>(dweight, dout, inp, rstd, N,
                                                                       C);
  return LaunchSucceeded();
}

}  // namespace flywheel::kernels::cuda
