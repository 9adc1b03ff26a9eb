// Causal grouped-query attention, forward and backward.
//
// Forward: one (query, head) pair at a time, pairs spread over the pool. Scores come from
// vec::Dot8 / vec::Dot, which give identical bits per key whatever group of eight a key falls in,
// so a key's score does not depend on how many keys there are or where a KV block ends. The
// softmax sum and the output Σ p_j·v_j are accumulated in plain key order (the latter vectorised
// across D, one FMA per key per element). Which thread runs a pair never matters.
//
// Backward runs in two parallel phases so that no two threads ever add into the same gradient:
//  1. per (query t, head h): dp_j = dout·v_j, ds_j = p_j·(dp_j − Σ_k p_k·dp_k)·scale, saved to a
//     scratch (T, H, T); dq[t, h] += Σ_j ds_j·k_j.
//  2. per (key j, KV head g): dk[j, g] += Σ_{h in g} Σ_{t >= j} ds[t, h, j]·q[t, h] and
//     dv[j, g] += Σ_{h in g} Σ_{t >= j} p[t, h, j]·dout[t, h], heads in order, then t in order.
// Both phases visit their items in a "zigzag" order (0, last, 1, last-1, ...) because the causal
// mask makes the work per position linear in the position; contiguous splits of that order are
// balanced between threads.
#include "common/kernels/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common/kernels/cpu/vec_math.h"

namespace flywheel::kernels {
namespace {

using vec::F8;
using vec::kLanes;

// The u-th position of the zigzag order over [0, n).
inline int64_t Zigzag(int64_t u, int64_t n) { return (u & 1) == 0 ? u / 2 : n - 1 - u / 2; }

// s[i] = Dot(a, row(i), D) for i in [0, count).
template <typename RowFn>
void DotRows(float* s, const float* a, int64_t count, int64_t D, RowFn row) {
  int64_t i = 0;
  for (; i + kLanes <= count; i += kLanes) {
    const float* rows[kLanes];
    for (int r = 0; r < kLanes; ++r) rows[r] = row(i + r);
    vec::Store(s + i, vec::Dot8(a, rows, D));
  }
  for (; i < count; ++i) s[i] = vec::Dot(a, row(i), D);
}

// acc[d] = fma(w(i), row(i)[d], acc[d]) for i = 0..count-1 in order, for every d < D. Each
// element's chain is the same whatever the chunking over d, so D = 32·k takes a register-blocked
// path and other D a chunk-at-a-time one.
template <typename WeightFn, typename RowFn>
void AccumulateRows(float* acc, int64_t count, int64_t D, WeightFn w, RowFn row) {
  int64_t d = 0;
  for (; d + 4 * kLanes <= D; d += 4 * kLanes) {
    F8 a0 = vec::Load(acc + d), a1 = vec::Load(acc + d + 8);
    F8 a2 = vec::Load(acc + d + 16), a3 = vec::Load(acc + d + 24);
    for (int64_t i = 0; i < count; ++i) {
      const F8 wi = vec::Set1(w(i));
      const float* r = row(i) + d;
      a0 = vec::Fma(wi, vec::Load(r), a0);
      a1 = vec::Fma(wi, vec::Load(r + 8), a1);
      a2 = vec::Fma(wi, vec::Load(r + 16), a2);
      a3 = vec::Fma(wi, vec::Load(r + 24), a3);
    }
    vec::Store(acc + d, a0);
    vec::Store(acc + d + 8, a1);
    vec::Store(acc + d + 16, a2);
    vec::Store(acc + d + 24, a3);
  }
  for (; d < D; d += kLanes) {
    const int64_t m = D - d < kLanes ? D - d : kLanes;
    F8 a = vec::LoadPartial(acc + d, m);
    for (int64_t i = 0; i < count; ++i) {
      a = vec::Fma(vec::Set1(w(i)), vec::LoadPartial(row(i) + d, m), a);
    }
    vec::StorePartial(acc + d, a, m);
  }
}

// Row pointers (KV head 0) of keys and values 0..n-1, walked block by block so that no division
// happens per key. Stored in the calling thread's scratch.
void GatherKvRows(std::vector<const float*>* k_rows, std::vector<const float*>* v_rows,
                  const KvView& kv, int64_t n) {
  k_rows->resize(n);
  v_rows->resize(n);
  int64_t j = 0;
  for (int64_t b = 0; j < n; ++b) {
    const float* kb = kv.k_blocks[b];
    const float* vb = kv.v_blocks[b];
    for (int64_t o = 0; o < kv.block_size && j < n; ++o, ++j) {
      (*k_rows)[j] = kb + o * kv.row_stride;
      (*v_rows)[j] = vb + o * kv.row_stride;
    }
  }
}

}  // namespace

namespace {

// Output (D) of one query against keys 0 .. n_keys-1, whose rows (KV head 0) are kr / vr and whose
// head starts g_off floats in; p (n_keys) receives the probabilities. The one sequence of
// operations every path runs for a (position, head) pair: the invariance contract.
void AttendOne(float* o, float* p, const float* qv, const float* const* kr, const float* const* vr,
               int64_t g_off, int64_t n_keys, int64_t D, float scale) {
  DotRows(p, qv, n_keys, D, [&](int64_t j) { return kr[j] + g_off; });
  const F8 sv = vec::Set1(scale);
  int64_t j = 0;
  for (; j + kLanes <= n_keys; j += kLanes) vec::Store(p + j, vec::Mul(vec::Load(p + j), sv));
  for (; j < n_keys; ++j) p[j] = p[j] * scale;

  float m = -std::numeric_limits<float>::infinity();
  for (j = 0; j < n_keys; ++j) m = p[j] > m ? p[j] : m;
  const F8 mv = vec::Set1(m);
  for (j = 0; j + kLanes <= n_keys; j += kLanes) {
    vec::Store(p + j, vec::Exp(vec::Sub(vec::Load(p + j), mv)));
  }
  for (; j < n_keys; ++j) p[j] = vec::ExpScalar(p[j] - m);

  float sum = 0.0f;
  for (j = 0; j < n_keys; ++j) sum += p[j];  // Key order: the invariance contract.
  const F8 sumv = vec::Set1(sum);
  for (j = 0; j + kLanes <= n_keys; j += kLanes) {
    vec::Store(p + j, vec::Div(vec::Load(p + j), sumv));
  }
  for (; j < n_keys; ++j) p[j] = p[j] / sum;

  for (int64_t d = 0; d < D; ++d) o[d] = 0.0f;
  AccumulateRows(
      o, n_keys, D, [&](int64_t k) { return p[k]; }, [&](int64_t k) { return vr[k] + g_off; });
}

float* ScratchFloats(int64_t n) {
  thread_local std::vector<float> scratch;
  if (static_cast<int64_t>(scratch.size()) < n) scratch.resize(n);
  return scratch.data();
}

}  // namespace

void attention_forward(float* out, float* att, const float* q, const KvView& kv, int64_t pos0,
                       int64_t T, int64_t H, int64_t KVH, int64_t D, ThreadPool* pool) {
  const int64_t n_total = pos0 + T;
  thread_local std::vector<const float*> k_rows, v_rows;
  GatherKvRows(&k_rows, &v_rows, kv, n_total);
  const float* const* kr = k_rows.data();
  const float* const* vr = v_rows.data();
  const int64_t group = H / KVH;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));

  ParallelFor(pool, T * H, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t t = Zigzag(i / H, T);
      const int64_t h = i % H;
      const int64_t n_keys = pos0 + t + 1;
      float* p;
      if (att != nullptr) {
        // Probabilities go straight to att when it is kept; otherwise to this thread's scratch.
        p = att + (t * H + h) * n_total;
        for (int64_t j = n_keys; j < n_total; ++j) p[j] = 0.0f;
      } else {
        p = ScratchFloats(n_keys);
      }
      AttendOne(out + (t * H + h) * D, p, q + (t * H + h) * D, kr, vr, (h / group) * D, n_keys, D,
                scale);
    }
  });
}

void attention_forward_segments(float* out, const float* q, const AttentionSegment* segments,
                                int64_t num_segments, int64_t H, int64_t KVH, int64_t D,
                                ThreadPool* pool) {
  const int64_t group = H / KVH;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  // Work items are (segment, row, head) triples; an item costs the keys it reads. Threads take
  // contiguous runs of equal cost, so one long prefill does not leave the other threads idle
  // behind it, and a whole step of many sequences is one hand-off to the pool.
  struct Item {
    int64_t seg, row, h, n_keys;
  };
  // The caller's scratch; the workers reach it through these references (a thread_local named
  // inside the lambda would be the worker's own, empty, instance).
  thread_local std::vector<Item> item_buf;
  thread_local std::vector<int64_t> cost_buf;
  std::vector<Item>& items = item_buf;
  std::vector<int64_t>& cost_end = cost_buf;
  items.clear();
  cost_end.clear();
  int64_t total = 0;
  for (int64_t s = 0; s < num_segments; ++s) {
    const AttentionSegment& seg = segments[s];
    for (int64_t t = 0; t < seg.T; ++t) {
      for (int64_t h = 0; h < H; ++h) {
        items.push_back({s, seg.row0 + t, h, seg.pos0 + t + 1});
        total += seg.pos0 + t + 1;
        cost_end.push_back(total);
      }
    }
  }
  const int64_t n_items = static_cast<int64_t>(items.size());
  // Runs the items whose cost range ends in (c0, c1].
  auto run = [&](int64_t c0, int64_t c1) {
    thread_local std::vector<const float*> kr, vr;
    int64_t gathered = -1;
    for (int64_t i = std::upper_bound(cost_end.begin(), cost_end.end(), c0) - cost_end.begin();
         i < n_items && cost_end[i] <= c1; ++i) {
      const Item& it = items[i];
      const AttentionSegment& seg = segments[it.seg];
      if (gathered != it.seg) {  // Items of one segment are adjacent: gather its rows once.
        GatherKvRows(&kr, &vr, seg.kv, seg.pos0 + seg.T);
        gathered = it.seg;
      }
      const int64_t row = it.row * H + it.h;
      AttendOne(out + row * D, ScratchFloats(it.n_keys), q + row * D, kr.data(), vr.data(),
                (it.h / group) * D, it.n_keys, D, scale);
    }
  };
  const int T = pool == nullptr ? 1 : pool->num_threads();
  if (T == 1 || n_items <= 1) {
    run(0, total);
    return;
  }
  pool->Run([&](int t) { run(total * t / T, total * (t + 1) / T); });
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q,
                        const float* k, const float* v, const float* att, int64_t T, int64_t H,
                        int64_t KVH, int64_t D, ThreadPool* pool) {
  const int64_t group = H / KVH;
  const int64_t kv_stride = KVH * D;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  // ds (T, H, T): the score gradients, written in phase 1 and read in phase 2.
  thread_local std::vector<float> ds_buf;
  if (static_cast<int64_t>(ds_buf.size()) < T * H * T) ds_buf.resize(T * H * T);
  float* ds = ds_buf.data();

  ParallelFor(pool, T * H, [&](int64_t i0, int64_t i1) {
    thread_local std::vector<float> acc;
    acc.resize(D);
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t t = Zigzag(i / H, T);
      const int64_t h = i % H;
      const int64_t n_keys = t + 1;
      const int64_t g_off = (h / group) * D;
      const float* p = att + (t * H + h) * T;
      const float* dy = dout + (t * H + h) * D;
      float* dsr = ds + (t * H + h) * T;

      DotRows(dsr, dy, n_keys, D, [&](int64_t j) { return v + j * kv_stride + g_off; });
      const float pdp = vec::Dot(p, dsr, n_keys);
      const F8 pdpv = vec::Set1(pdp);
      const F8 sv = vec::Set1(scale);
      for (int64_t j = 0; j < n_keys; j += kLanes) {
        const int64_t m = n_keys - j < kLanes ? n_keys - j : kLanes;
        const F8 g = vec::Mul(
            vec::Mul(vec::LoadPartial(p + j, m), vec::Sub(vec::LoadPartial(dsr + j, m), pdpv)), sv);
        vec::StorePartial(dsr + j, g, m);
      }

      for (int64_t d = 0; d < D; ++d) acc[d] = 0.0f;
      AccumulateRows(
          acc.data(), n_keys, D, [&](int64_t j) { return dsr[j]; },
          [&](int64_t j) { return k + j * kv_stride + g_off; });
      float* dqr = dq + (t * H + h) * D;
      for (int64_t d = 0; d < D; ++d) dqr[d] += acc[d];
    }
  });

  ParallelFor(pool, T * KVH, [&](int64_t i0, int64_t i1) {
    thread_local std::vector<float> acc_k, acc_v;
    acc_k.resize(D);
    acc_v.resize(D);
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t j = Zigzag(i / KVH, T);
      const int64_t g = i % KVH;
      for (int64_t d = 0; d < D; ++d) acc_k[d] = acc_v[d] = 0.0f;
      const int64_t count = T - j;  // Queries t = j..T-1 see key j.
      for (int64_t h = g * group; h < (g + 1) * group; ++h) {
        const int64_t col = h * T + j;  // Element (t, h, j) of a (T, H, T) array is at t·H·T + col.
        AccumulateRows(
            acc_k.data(), count, D, [&](int64_t u) { return ds[(j + u) * H * T + col]; },
            [&](int64_t u) { return q + ((j + u) * H + h) * D; });
        AccumulateRows(
            acc_v.data(), count, D, [&](int64_t u) { return att[(j + u) * H * T + col]; },
            [&](int64_t u) { return dout + ((j + u) * H + h) * D; });
      }
      float* dkr = dk + j * kv_stride + g * D;
      float* dvr = dv + j * kv_stride + g * D;
      for (int64_t d = 0; d < D; ++d) {
        dkr[d] += acc_k[d];
        dvr[d] += acc_v[d];
      }
    }
  });
}

}  // namespace flywheel::kernels
