#include <cmath>

#include "common/kernels/cuda/adamw.h"
#include "common/kernels/cuda/launch.cuh"

namespace flywheel::kernels::cuda {
namespace {

// The per-step scalars of cpu/adamw.cc's adamw_update, rounded to float once.
struct AdamWCoefficients {
  float decay;     // 1 - lr·wd
  float w1;        // 1 - beta1
  float beta2;     //
  float c2;        // 1 - beta2
  float bc2_sqrt;  // sqrt(1 - beta2^step)
  float eps;
  float neg_step;  // -lr / (1 - beta1^step)
};

// Element-wise in a grid stride; nothing is reduced. torch.optim.AdamW's operations as the CPU
// writes them: p·decay; m + w1·(g - m) as one FMA; v·b2 + (c2·g)·g; then
// p + (neg_step·m) / (sqrt(v) / bc2_sqrt + eps).
__global__ void AdamWUpdateKernel(float* params, const float* grads, float* m, float* v, int64_t n,
                                  AdamWCoefficients k) {
  for (int64_t i = GridThread(); i < n; i += GridStride()) {
    const float g = grads[i];
    const float p = params[i] * k.decay;
    const float mi = fmaf(k.w1, g - m[i], m[i]);
    const float vi = v[i] * k.beta2 + (k.c2 * g) * g;
    const float denom = sqrtf(vi) / k.bc2_sqrt + k.eps;
    params[i] = p + (k.neg_step * mi) / denom;
    m[i] = mi;
    v[i] = vi;
  }
}

// One block per kNormChunk elements: Σ g² in double, each thread over a strided slice of the
// chunk, then BlockReduce's tree. The chunk's order depends on its length alone.
__global__ void ChunkSumSquaresKernel(double* partial, const float* grads, int64_t n) {
  const int64_t begin = static_cast<int64_t>(blockIdx.x) * kNormChunk;
  const int64_t end = n - begin < kNormChunk ? n : begin + kNormChunk;
  double acc = 0;
  for (int64_t i = begin + threadIdx.x; i < end; i += kBlockThreads) {
    const double g = grads[i];
    acc = acc + g * g;
  }
  acc = BlockReduce(acc, SumOp());
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

// One thread adds the chunks' partial sums in chunk order, as the CPU does.
__global__ void SumInOrderKernel(double* total, const double* partial, int64_t count) {
  double acc = 0;
  for (int64_t c = 0; c < count; ++c) acc += partial[c];
  *total = acc;
}

__global__ void ScaleKernel(float* x, float factor, int64_t n) {
  for (int64_t i = GridThread(); i < n; i += GridStride()) x[i] = x[i] * factor;
}

}  // namespace

bool grad_norm(double* norm, const float* grads, int64_t n) {
  if (n <= 0) {
    *norm = 0;
    return true;
  }
  const int64_t chunks = NormChunks(n);
  if (chunks > kMaxGridX) return false;
  DeviceScratch<double> partial(chunks + 1);  // The last element receives the total.
  if (partial.get() == nullptr) return false;
  double* total = partial.get() + chunks;
  ChunkSumSquaresKernel<<<static_cast<unsigned>(chunks), kBlockThreads>>>(partial.get(), grads, n);
  if (!LaunchSucceeded()) return false;
  SumInOrderKernel<<<1, 1>>>(total, partial.get(), chunks);
  double sum_squares = 0;
  if (!LaunchSucceeded() || !CopyToHost(&sum_squares, total)) return false;
  *norm = std::sqrt(sum_squares);
  return true;
}

bool clip_grad_norm(double* norm, float* grads, int64_t n, float max_norm) {
  if (!grad_norm(norm, grads, n)) return false;
  if (max_norm <= 0) return true;
  const double coef = static_cast<double>(max_norm) / (*norm + 1e-6);
  if (!(coef < 1.0)) return true;  // Clamped to 1: multiplying by 1 would change nothing.
  ScaleKernel<<<ElementwiseBlocks(n), kBlockThreads>>>(grads, static_cast<float>(coef), n);
  return LaunchSucceeded();
}

bool adamw_update(float* params, const float* grads, float* m, float* v, int64_t n, int64_t step,
                  const AdamWOptions& opt) {
  if (n <= 0) return true;
  const double lr = opt.lr;
  const double bias_correction1 = 1.0 - std::pow(static_cast<double>(opt.beta1), step);
  const double bias_correction2 = 1.0 - std::pow(static_cast<double>(opt.beta2), step);
  AdamWCoefficients k;
  k.decay = static_cast<float>(1.0 - lr * opt.weight_decay);
  k.w1 = static_cast<float>(1.0 - opt.beta1);
  k.beta2 = opt.beta2;
  k.c2 = static_cast<float>(1.0 - opt.beta2);
  k.bc2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
  k.eps = opt.eps;
  k.neg_step = static_cast<float>(-lr / bias_correction1);
  AdamWUpdateKernel<<<ElementwiseBlocks(n), kBlockThreads>>>(params, grads, m, v, n, k);
  return LaunchSucceeded();
}

}  // namespace flywheel::kernels::cuda
