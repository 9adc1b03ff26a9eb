// SwiGLU activation, element-wise, rows in parallel. The formulas follow PyTorch's silu and
// silu_backward kernels so that the results stay within an ulp or two of them.
#include "common/kernels/cpu/swiglu.h"

#include "common/kernels/cpu/vec_math.h"

namespace flywheel::kernels {

using vec::F8;
using vec::kLanes;

void swiglu_forward(float* out, const float* gate_up, int64_t N, int64_t I, ThreadPool* pool) {
  const F8 one = vec::Set1(1.0f);
  const F8 zero = vec::Zero();
  ParallelFor(pool, N, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const float* gate = gate_up + n * 2 * I;
      const float* up = gate + I;
      float* y = out + n * I;
      for (int64_t i = 0; i < I; i += kLanes) {
        const int64_t m = I - i < kLanes ? I - i : kLanes;
        const F8 g = vec::LoadPartial(gate + i, m);
        const F8 silu = vec::Div(g, vec::Add(one, vec::Exp(vec::Sub(zero, g))));
        vec::StorePartial(y + i, vec::Mul(silu, vec::LoadPartial(up + i, m)), m);
      }
    }
  });
}

// With s = sigmoid(g): d gate = dout·up·s·(1 + g·(1 − s)), d up = dout·silu(g).
void swiglu_backward(float* dgate_up, const float* dout, const float* gate_up, int64_t N, int64_t I,
                     ThreadPool* pool) {
  const F8 one = vec::Set1(1.0f);
  const F8 zero = vec::Zero();
  ParallelFor(pool, N, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const float* gate = gate_up + n * 2 * I;
      const float* up = gate + I;
      const float* dy = dout + n * I;
      float* dgate = dgate_up + n * 2 * I;
      float* dup = dgate + I;
      for (int64_t i = 0; i < I; i += kLanes) {
        const int64_t m = I - i < kLanes ? I - i : kLanes;
        const F8 g = vec::LoadPartial(gate + i, m);
        const F8 u = vec::LoadPartial(up + i, m);
        const F8 d = vec::LoadPartial(dy + i, m);
        const F8 denom = vec::Add(one, vec::Exp(vec::Sub(zero, g)));
        const F8 s = vec::Div(one, denom);
        const F8 silu = vec::Div(g, denom);
        const F8 dsilu =
            vec::Mul(vec::Mul(vec::Mul(d, u), s), vec::Add(one, vec::Mul(g, vec::Sub(one, s))));
        vec::StorePartial(dgate + i, vec::Add(vec::LoadPartial(dgate + i, m), dsilu), m);
        vec::StorePartial(dup + i, vec::Add(vec::LoadPartial(dup + i, m), vec::Mul(d, silu)), m);
      }
    }
  });
}

}  // namespace flywheel::kernels
