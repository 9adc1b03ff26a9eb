// AdamW step and global-norm gradient clipping, element-wise in parallel.
#include "common/kernels/cpu/adamw.h"

#include <cmath>
#include <vector>

#include "common/kernels/cpu/vec_math.h"

namespace flywheel::kernels {
namespace {

using vec::F8;
using vec::kLanes;

// The norm is a sum of per-chunk partial sums taken in chunk order; the chunk size is fixed so
// the result is the same for every thread count.
constexpr int64_t kNormChunk = 1 << 14;

// Σ x² over one chunk in double, four interleaved accumulators for throughput.
double ChunkSumSquares(const float* x, int64_t n) {
  double a[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int l = 0; l < 4; ++l) {
      const double v = x[i + l];
      a[l] += v * v;
    }
  }
  for (int l = 0; i < n; ++i, ++l) {
    const double v = x[i];
    a[l] += v * v;
  }
  return (a[0] + a[1]) + (a[2] + a[3]);
}

}  // namespace

double grad_norm(const float* grads, int64_t n, ThreadPool* pool) {
  const int64_t chunks = (n + kNormChunk - 1) / kNormChunk;
  std::vector<double> partial(chunks);
  ParallelFor(pool, chunks, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t begin = c * kNormChunk;
      const int64_t len = n - begin < kNormChunk ? n - begin : kNormChunk;
      partial[c] = ChunkSumSquares(grads + begin, len);
    }
  });
  double total = 0;
  for (double p : partial) total += p;
  return std::sqrt(total);
}

double clip_grad_norm(float* grads, int64_t n, float max_norm, ThreadPool* pool) {
  const double norm = grad_norm(grads, n, pool);
  if (max_norm <= 0) return norm;
  const double coef = static_cast<double>(max_norm) / (norm + 1e-6);
  if (!(coef < 1.0)) return norm;  // Clamped to 1: multiplying by 1 would change nothing.
  const F8 cv = vec::Set1(static_cast<float>(coef));
  const int64_t blocks = (n + kLanes - 1) / kLanes;
  ParallelFor(pool, blocks, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t i = b * kLanes;
      const int64_t m = n - i < kLanes ? n - i : kLanes;
      vec::StorePartial(grads + i, vec::Mul(vec::LoadPartial(grads + i, m), cv), m);
    }
  });
  return norm;
}

// torch.optim.AdamW (single-tensor path), operation for operation:
//   p.mul_(1 - lr·wd); m.lerp_(g, 1 - b1)  [= m + (1-b1)·(g - m), one FMA as torch's vector lerp];
//   v.mul_(b2).addcmul_(g, g, 1 - b2)  [= v·b2 + ((1-b2)·g)·g];
//   denom = sqrt(v) / sqrt(bc2) + eps;  p.addcdiv_(m, denom, -lr/bc1)  [= p + (-lr/bc1 · m) /
//   denom].
// Scalar coefficients are formed in double, as Python does, and rounded to float once; 1 - b1 and
// 1 - b2 are exact in float for betas in [0.5, 1).
void adamw_update(float* params, const float* grads, float* m, float* v, int64_t n, int64_t step,
                  const AdamWOptions& opt, ThreadPool* pool) {
  const double lr = opt.lr;
  const double bias_correction1 = 1.0 - std::pow(static_cast<double>(opt.beta1), step);
  const double bias_correction2 = 1.0 - std::pow(static_cast<double>(opt.beta2), step);
  const F8 decay = vec::Set1(static_cast<float>(1.0 - lr * opt.weight_decay));
  const F8 w1 = vec::Set1(static_cast<float>(1.0 - opt.beta1));
  const F8 b2 = vec::Set1(opt.beta2);
  const F8 c2 = vec::Set1(static_cast<float>(1.0 - opt.beta2));
  const F8 bc2_sqrt = vec::Set1(static_cast<float>(std::sqrt(bias_correction2)));
  const F8 eps = vec::Set1(opt.eps);
  const F8 neg_step = vec::Set1(static_cast<float>(-lr / bias_correction1));
  const int64_t blocks = (n + kLanes - 1) / kLanes;
  ParallelFor(pool, blocks, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t i = b * kLanes;
      const int64_t k = n - i < kLanes ? n - i : kLanes;
      const F8 g = vec::LoadPartial(grads + i, k);
      const F8 p = vec::Mul(vec::LoadPartial(params + i, k), decay);
      F8 mi = vec::LoadPartial(m + i, k);
      mi = vec::Fma(w1, vec::Sub(g, mi), mi);
      F8 vi = vec::Mul(vec::LoadPartial(v + i, k), b2);
      vi = vec::Add(vi, vec::Mul(vec::Mul(c2, g), g));
      const F8 denom = vec::Add(vec::Div(vec::Sqrt(vi), bc2_sqrt), eps);
      vec::StorePartial(params + i, vec::Add(p, vec::Div(vec::Mul(neg_step, mi), denom)), k);
      vec::StorePartial(m + i, mi, k);
      vec::StorePartial(v + i, vi, k);
    }
  });
}

}  // namespace flywheel::kernels
