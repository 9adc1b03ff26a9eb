// Log-softmax with target gather and entropy. Rows are independent and run in parallel; within a
// row every reduction has one order that depends on V only (see RowStats), so a row's results do
// not depend on the other rows of the call or on the thread count.
#include "common/kernels/cpu/logprobs.h"

#include <cmath>
#include <limits>

#include "common/kernels/cpu/vec_math.h"

namespace flywheel::kernels {
namespace {

using vec::F8;
using vec::kLanes;

struct RowStats {
  float max;
  double sum;       // S = Σ exp(x - max)
  double weighted;  // A = Σ exp(x - max) · (x - max), when asked for
};

// Element i of the row goes to accumulator (i / 8) mod 4, lane i mod 8, in increasing i; the four
// accumulators combine as (A0 + A1) + (A2 + A3), then HSum (vec::DotLong's order).
RowStats ComputeRowStats(const float* x, int64_t V, bool weighted) {
  RowStats st;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  F8 mv = vec::Set1(neg_inf);
  int64_t i = 0;
  for (; i + kLanes <= V; i += kLanes) mv = vec::Max(vec::Load(x + i), mv);
  float m = vec::HMax(mv);
  for (; i < V; ++i) m = x[i] > m ? x[i] : m;
  st.max = m;

  mv = vec::Set1(m);
  F8 s[4] = {vec::Zero(), vec::Zero(), vec::Zero(), vec::Zero()};
  F8 a[4] = {vec::Zero(), vec::Zero(), vec::Zero(), vec::Zero()};
  i = 0;
  if (weighted) {
    for (; i + 4 * kLanes <= V; i += 4 * kLanes) {
      for (int c = 0; c < 4; ++c) {
        const F8 d = vec::Sub(vec::Load(x + i + c * kLanes), mv);
        const F8 e = vec::Exp(d);
        s[c] = vec::Add(s[c], e);
        a[c] = vec::Fma(e, d, a[c]);
      }
    }
  } else {
    for (; i + 4 * kLanes <= V; i += 4 * kLanes) {
      for (int c = 0; c < 4; ++c) {
        s[c] = vec::Add(s[c], vec::Exp(vec::Sub(vec::Load(x + i + c * kLanes), mv)));
      }
    }
  }
  for (int c = 0; i < V; ++c, i += kLanes) {
    const int64_t n = V - i < kLanes ? V - i : kLanes;
    // Padding lanes would read 0 and give exp(-max) != 0: mask them out after the exp.
    const F8 d = vec::KeepFirst(vec::Sub(vec::LoadPartial(x + i, n), mv), n);
    const F8 e = vec::KeepFirst(vec::Exp(d), n);
    s[c] = vec::Add(s[c], e);
    if (weighted) a[c] = vec::Fma(e, d, a[c]);
  }
  st.sum = vec::HSum(vec::Add(vec::Add(s[0], s[1]), vec::Add(s[2], s[3])));
  st.weighted = weighted ? vec::HSum(vec::Add(vec::Add(a[0], a[1]), vec::Add(a[2], a[3]))) : 0.0;
  return st;
}

}  // namespace

void logprobs_forward(float* logprobs, float* entropy, float* lse, const float* logits,
                      const int32_t* targets, int64_t N, int64_t V, ThreadPool* pool) {
  ParallelFor(pool, N, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const float* x = logits + n * V;
      const RowStats st = ComputeRowStats(x, V, entropy != nullptr);
      // log p_t = (x_t - max) - log S, and H = log S - A / S; the few scalar steps are done in
      // double and rounded once.
      const double log_sum = std::log(st.sum);
      const double m = st.max;
      logprobs[n] = static_cast<float>((x[targets[n]] - m) - log_sum);
      if (lse != nullptr) lse[n] = static_cast<float>(m + log_sum);
      if (entropy != nullptr) entropy[n] = static_cast<float>(log_sum - st.weighted / st.sum);
    }
  });
}

void logprobs_backward(float* dlogits, const float* dlogprobs, const float* dentropy,
                       const float* logits, const float* lse, const float* entropy,
                       const int32_t* targets, int64_t N, int64_t V, ThreadPool* pool) {
  ParallelFor(pool, N, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const float* x = logits + n * V;
      float* dx = dlogits + n * V;
      const float g = dlogprobs[n];
      const float ge = dentropy != nullptr ? dentropy[n] : 0.0f;
      if (g == 0.0f && ge == 0.0f) {
        // Masked rows (prompt tokens) are common in RL batches; skip their exps.
        for (int64_t i = 0; i < V; ++i) dx[i] = 0.0f;
        continue;
      }
      const F8 lse_v = vec::Set1(lse[n]);
      const F8 zero = vec::Zero();
      if (ge != 0.0f) {
        // dx = -p · (g + ge · (log p + H)), log p = x - lse.
        const F8 gv = vec::Set1(g);
        const F8 gev = vec::Set1(ge);
        const F8 hv = vec::Set1(entropy[n]);
        for (int64_t i = 0; i < V; i += kLanes) {
          const int64_t m = V - i < kLanes ? V - i : kLanes;
          const F8 lp = vec::Sub(vec::LoadPartial(x + i, m), lse_v);
          const F8 p = vec::Exp(lp);
          const F8 coef = vec::Add(gv, vec::Mul(gev, vec::Add(lp, hv)));
          vec::StorePartial(dx + i, vec::Mul(vec::Sub(zero, p), coef), m);
        }
      } else {
        const F8 neg_g = vec::Set1(-g);
        int64_t i = 0;
        for (; i + kLanes <= V; i += kLanes) {
          vec::Store(dx + i, vec::Mul(vec::Exp(vec::Sub(vec::Load(x + i), lse_v)), neg_g));
        }
        if (i < V) {
          const int64_t m = V - i;
          vec::StorePartial(
              dx + i, vec::Mul(vec::Exp(vec::Sub(vec::LoadPartial(x + i, m), lse_v)), neg_g), m);
        }
      }
      dx[targets[n]] += g;
    }
  });
}

}  // namespace flywheel::kernels
