// RMSNorm forward/backward. Rows are independent and run in parallel; the weight gradient, a sum
// over rows, runs in parallel over columns instead so that each column is summed in row order.
#include "common/kernels/cpu/rmsnorm.h"

#include <cmath>

#include "common/kernels/cpu/vec_math.h"

namespace flywheel::kernels {
namespace {

using vec::F8;
using vec::kLanes;

// Σ_i w[i]·dy[i]·x[i] in DotLong's accumulator order, the product w·dy rounded first.
float WeightedDot(const float* w, const float* dy, const float* x, int64_t n) {
  F8 acc[4] = {vec::Zero(), vec::Zero(), vec::Zero(), vec::Zero()};
  int64_t i = 0;
  for (; i + 4 * kLanes <= n; i += 4 * kLanes) {
    for (int c = 0; c < 4; ++c) {
      const int64_t o = i + c * kLanes;
      acc[c] = vec::Fma(vec::Mul(vec::Load(w + o), vec::Load(dy + o)), vec::Load(x + o), acc[c]);
    }
  }
  for (int c = 0; i < n; ++c, i += kLanes) {
    const int64_t m = n - i < kLanes ? n - i : kLanes;
    acc[c] = vec::Fma(vec::Mul(vec::LoadPartial(w + i, m), vec::LoadPartial(dy + i, m)),
                      vec::LoadPartial(x + i, m), acc[c]);
  }
  return vec::HSum(vec::Add(vec::Add(acc[0], acc[1]), vec::Add(acc[2], acc[3])));
}

}  // namespace

void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, float eps,
                     int64_t N, int64_t C, ThreadPool* pool) {
  ParallelFor(pool, N, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const float* x = inp + n * C;
      float* y = out + n * C;
      // Hugging Face order, all in float: mean(x²), + eps, rsqrt, x * rstd, then * weight.
      const float mean = vec::DotLong(x, x, C) / static_cast<float>(C);
      const float r = 1.0f / std::sqrt(mean + eps);
      if (rstd != nullptr) rstd[n] = r;
      const F8 rv = vec::Set1(r);
      int64_t i = 0;
      for (; i + kLanes <= C; i += kLanes) {
        vec::Store(y + i, vec::Mul(vec::Load(weight + i), vec::Mul(vec::Load(x + i), rv)));
      }
      if (i < C) {
        const int64_t m = C - i;
        vec::StorePartial(
            y + i,
            vec::Mul(vec::LoadPartial(weight + i, m), vec::Mul(vec::LoadPartial(x + i, m), rv)), m);
      }
    }
  });
}

// With x̂ = x·r and y = w·x̂:  dx = r·(w·dy) − (r³/C)·(Σ_j w_j·dy_j·x_j)·x;  dw = Σ_n dy·x̂.
void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp,
                      const float* weight, const float* rstd, int64_t N, int64_t C,
                      ThreadPool* pool) {
  ParallelFor(pool, N, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const float* x = inp + n * C;
      const float* dy = dout + n * C;
      float* dx = dinp + n * C;
      const double r = rstd[n];
      const F8 rv = vec::Set1(rstd[n]);
      const F8 cv = vec::Set1(
          static_cast<float>(WeightedDot(weight, dy, x, C) * r * r * r / static_cast<double>(C)));
      int64_t i = 0;
      for (; i < C; i += kLanes) {
        const int64_t m = C - i < kLanes ? C - i : kLanes;
        const F8 wdy = vec::Mul(vec::LoadPartial(weight + i, m), vec::LoadPartial(dy + i, m));
        const F8 g = vec::Sub(vec::Mul(rv, wdy), vec::Mul(cv, vec::LoadPartial(x + i, m)));
        vec::StorePartial(dx + i, vec::Add(vec::LoadPartial(dx + i, m), g), m);
      }
    }
  });
  const int64_t col_blocks = (C + kLanes - 1) / kLanes;
  ParallelFor(pool, col_blocks, [&](int64_t b0, int64_t b1) {
    const int64_t c0 = b0 * kLanes;
    const int64_t c1 = b1 * kLanes < C ? b1 * kLanes : C;
    for (int64_t n = 0; n < N; ++n) {
      const float* x = inp + n * C;
      const float* dy = dout + n * C;
      const F8 rv = vec::Set1(rstd[n]);
      for (int64_t i = c0; i < c1; i += kLanes) {
        const int64_t m = c1 - i < kLanes ? c1 - i : kLanes;
        const F8 xhat = vec::Mul(vec::LoadPartial(x + i, m), rv);
        const F8 acc =
            vec::Add(vec::LoadPartial(dweight + i, m), vec::Mul(vec::LoadPartial(dy + i, m), xhat));
        vec::StorePartial(dweight + i, acc, m);
      }
    }
  });
}

}  // namespace flywheel::kernels
