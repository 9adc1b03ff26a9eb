// Private helpers for the CPU kernels: an 8-lane float vector (F8) with AVX2 and portable
// implementations that give the same bits lane for lane, an accurate vector exp, and fixed-order
// reductions.
//
// Batch invariance rests on two properties of everything here:
//  - element-wise operations (Add, Mul, Fma, Div, Sqrt, Exp...) give the same bits for an element
//    whichever lane it sits in, and the same bits as their scalar twins (ExpScalar, std::fma), so a
//    kernel may process a row's tail with LoadPartial/StorePartial or with scalar code freely;
//  - every reduction (HSum, Dot, Dot8) has one documented order that depends only on the length.
// -ffp-contract=off is global, so the only fused multiply-adds are the explicit Fma calls.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(FLYWHEEL_AVX2)
#include <immintrin.h>
#endif

namespace flywheel::kernels::vec {

inline constexpr int kLanes = 8;

// Constants of Exp. The argument is clamped to [kExpLo, kExpHi]: below kExpLo the result rounds
// to +0 (exp(-104) < half the smallest subnormal), above kExpHi it overflows to +inf, and inside
// the range n = round(x / ln 2) stays in [-150, 128], which the two-step scaling handles.
inline constexpr float kExpLo = -104.0f;
inline constexpr float kExpHi = 88.8f;
inline constexpr float kLog2e = 1.44269504088896341f;
// ln 2 split so that n * kLn2Hi is exact for |n| < 2^15 (kLn2Hi has 9 significant bits).
inline constexpr float kLn2Hi = 0.693359375f;
inline constexpr float kLn2Lo = -2.12194440e-4f;
// 1.5 * 2^23: adding it rounds a float in (-2^22, 2^22) to the nearest integer (ties to even)
// and leaves that integer in the low mantissa bits.
inline constexpr float kRoundMagic = 12582912.0f;
// Minimax polynomial for (exp(r) - 1 - r) / r² on |r| <= ln(2)/2 (Cephes expf).
inline constexpr float kExpC0 = 5.0000001201e-1f;
inline constexpr float kExpC1 = 1.6666665459e-1f;
inline constexpr float kExpC2 = 4.1665795894e-2f;
inline constexpr float kExpC3 = 8.3334519073e-3f;
inline constexpr float kExpC4 = 1.3981999507e-3f;
inline constexpr float kExpC5 = 1.9875691500e-4f;

// Scalar exp, bit-identical to each lane of Exp(F8). Accurate to about 1 ulp for normal results
// (tested against double exp in vec_math_test); NaN propagates, -inf gives 0, +inf gives +inf.
inline float ExpScalar(float x) {
  if (std::isnan(x)) return x;
  // Same clamp semantics as _mm256_max_ps/_mm256_min_ps (second operand on ties).
  float xc = x > kExpLo ? x : kExpLo;
  xc = xc < kExpHi ? xc : kExpHi;
  const float t = xc * kLog2e;
  const float k = t + kRoundMagic;
  const float n = k - kRoundMagic;
  float r = std::fma(n, -kLn2Hi, xc);
  r = std::fma(n, -kLn2Lo, r);
  float p = kExpC5;
  p = std::fma(p, r, kExpC4);
  p = std::fma(p, r, kExpC3);
  p = std::fma(p, r, kExpC2);
  p = std::fma(p, r, kExpC1);
  p = std::fma(p, r, kExpC0);
  const float z = r * r;
  float y = std::fma(p, z, r);
  y = y + 1.0f;
  // 2^n as 2^a · 2^b, each factor a normal float, so subnormal results are rounded once.
  const int32_t ni = std::bit_cast<int32_t>(k) - std::bit_cast<int32_t>(kRoundMagic);
  const int32_t a = ni >> 1;
  const int32_t b = ni - a;
  y = y * std::bit_cast<float>((a + 127) << 23);
  y = y * std::bit_cast<float>((b + 127) << 23);
  return y;
}

#if defined(FLYWHEEL_AVX2)

struct F8 {
  __m256 v;
};

inline F8 Zero() { return {_mm256_setzero_ps()}; }
inline F8 Set1(float x) { return {_mm256_set1_ps(x)}; }
inline F8 Load(const float* p) { return {_mm256_loadu_ps(p)}; }
inline void Store(float* p, F8 a) { _mm256_storeu_ps(p, a.v); }
inline __m256i LaneMask(int64_t n) {
  const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(n)), iota);
}
// Lanes >= n (0 <= n <= 8) read as 0 and are never touched in memory.
inline F8 LoadPartial(const float* p, int64_t n) { return {_mm256_maskload_ps(p, LaneMask(n))}; }
inline void StorePartial(float* p, F8 a, int64_t n) { _mm256_maskstore_ps(p, LaneMask(n), a.v); }
// Zeroes lanes >= n.
inline F8 KeepFirst(F8 a, int64_t n) {
  return {_mm256_and_ps(a.v, _mm256_castsi256_ps(LaneMask(n)))};
}
inline F8 Add(F8 a, F8 b) { return {_mm256_add_ps(a.v, b.v)}; }
inline F8 Sub(F8 a, F8 b) { return {_mm256_sub_ps(a.v, b.v)}; }
inline F8 Mul(F8 a, F8 b) { return {_mm256_mul_ps(a.v, b.v)}; }
inline F8 Div(F8 a, F8 b) { return {_mm256_div_ps(a.v, b.v)}; }
inline F8 Sqrt(F8 a) { return {_mm256_sqrt_ps(a.v)}; }
// a * b + c with one rounding.
inline F8 Fma(F8 a, F8 b, F8 c) { return {_mm256_fmadd_ps(a.v, b.v, c.v)}; }
// a > b ? a : b, lane-wise (b when either is NaN).
inline F8 Max(F8 a, F8 b) { return {_mm256_max_ps(a.v, b.v)}; }

// ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)).
inline float HSum(F8 a) {
  const __m128 lo = _mm256_castps256_ps128(a.v);
  const __m128 hi = _mm256_extractf128_ps(a.v, 1);
  const __m128 s1 = _mm_hadd_ps(lo, hi);  // l0+l1, l2+l3, l4+l5, l6+l7
  const __m128 s2 = _mm_hadd_ps(s1, s1);  // (l0+l1)+(l2+l3), (l4+l5)+(l6+l7), ...
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

// Lane i = HSum(a[i]), with the same tree.
inline F8 HSum8(const F8 a[8]) {
  const __m256 h01 = _mm256_hadd_ps(a[0].v, a[1].v);
  const __m256 h23 = _mm256_hadd_ps(a[2].v, a[3].v);
  const __m256 h45 = _mm256_hadd_ps(a[4].v, a[5].v);
  const __m256 h67 = _mm256_hadd_ps(a[6].v, a[7].v);
  const __m256 h0123 = _mm256_hadd_ps(h01, h23);  // per 128-bit half: partial sums of a0..a3
  const __m256 h4567 = _mm256_hadd_ps(h45, h67);
  const __m256 lo = _mm256_permute2f128_ps(h0123, h4567, 0x20);  // (l0+l1)+(l2+l3) of a0..a7
  const __m256 hi = _mm256_permute2f128_ps(h0123, h4567, 0x31);  // (l4+l5)+(l6+l7) of a0..a7
  return {_mm256_add_ps(lo, hi)};
}

inline float HMax(F8 a) {
  alignas(32) float l[8];
  _mm256_store_ps(l, a.v);
  float m = l[0];
  for (int i = 1; i < 8; ++i) m = l[i] > m ? l[i] : m;
  return m;
}

// Lane-wise ExpScalar.
inline F8 Exp(F8 x) {
  const __m256 nan_mask = _mm256_cmp_ps(x.v, x.v, _CMP_UNORD_Q);
  __m256 xc = _mm256_max_ps(x.v, _mm256_set1_ps(kExpLo));
  xc = _mm256_min_ps(xc, _mm256_set1_ps(kExpHi));
  const __m256 t = _mm256_mul_ps(xc, _mm256_set1_ps(kLog2e));
  const __m256 k = _mm256_add_ps(t, _mm256_set1_ps(kRoundMagic));
  const __m256 n = _mm256_sub_ps(k, _mm256_set1_ps(kRoundMagic));
  __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-kLn2Hi), xc);
  r = _mm256_fmadd_ps(n, _mm256_set1_ps(-kLn2Lo), r);
  __m256 p = _mm256_set1_ps(kExpC5);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpC4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpC3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpC2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpC1));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpC0));
  const __m256 z = _mm256_mul_ps(r, r);
  __m256 y = _mm256_fmadd_ps(p, z, r);
  y = _mm256_add_ps(y, _mm256_set1_ps(1.0f));
  const __m256i ni =
      _mm256_sub_epi32(_mm256_castps_si256(k), _mm256_castps_si256(_mm256_set1_ps(kRoundMagic)));
  const __m256i a = _mm256_srai_epi32(ni, 1);
  const __m256i b = _mm256_sub_epi32(ni, a);
  const __m256i bias = _mm256_set1_epi32(127);
  y = _mm256_mul_ps(y, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(a, bias), 23)));
  y = _mm256_mul_ps(y, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(b, bias), 23)));
  return {_mm256_blendv_ps(y, x.v, nan_mask)};
}

#else  // Portable: the same operations lane by lane.

struct F8 {
  float v[8];
};

inline F8 Zero() { return F8{}; }
inline F8 Set1(float x) {
  F8 r;
  for (int i = 0; i < 8; ++i) r.v[i] = x;
  return r;
}
inline F8 Load(const float* p) {
  F8 r;
  std::memcpy(r.v, p, sizeof(r.v));
  return r;
}
inline void Store(float* p, F8 a) { std::memcpy(p, a.v, sizeof(a.v)); }
inline F8 LoadPartial(const float* p, int64_t n) {
  F8 r{};
  for (int64_t i = 0; i < n; ++i) r.v[i] = p[i];
  return r;
}
inline void StorePartial(float* p, F8 a, int64_t n) {
  for (int64_t i = 0; i < n; ++i) p[i] = a.v[i];
}
inline F8 KeepFirst(F8 a, int64_t n) {
  for (int64_t i = n < 0 ? 0 : n; i < 8; ++i) a.v[i] = 0.0f;
  return a;
}
#define FLYWHEEL_F8_LANEWISE(expr)             \
  F8 r;                                        \
  for (int i = 0; i < 8; ++i) r.v[i] = (expr); \
  return r
inline F8 Add(F8 a, F8 b) { FLYWHEEL_F8_LANEWISE(a.v[i] + b.v[i]); }
inline F8 Sub(F8 a, F8 b) { FLYWHEEL_F8_LANEWISE(a.v[i] - b.v[i]); }
inline F8 Mul(F8 a, F8 b) { FLYWHEEL_F8_LANEWISE(a.v[i] * b.v[i]); }
inline F8 Div(F8 a, F8 b) { FLYWHEEL_F8_LANEWISE(a.v[i] / b.v[i]); }
inline F8 Sqrt(F8 a) { FLYWHEEL_F8_LANEWISE(std::sqrt(a.v[i])); }
inline F8 Fma(F8 a, F8 b, F8 c) { FLYWHEEL_F8_LANEWISE(std::fma(a.v[i], b.v[i], c.v[i])); }
inline F8 Max(F8 a, F8 b) { FLYWHEEL_F8_LANEWISE(a.v[i] > b.v[i] ? a.v[i] : b.v[i]); }
inline F8 Exp(F8 a) { FLYWHEEL_F8_LANEWISE(ExpScalar(a.v[i])); }
#undef FLYWHEEL_F8_LANEWISE

inline float HSum(F8 a) {
  const float* l = a.v;
  return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}
inline F8 HSum8(const F8 a[8]) {
  F8 r;
  for (int i = 0; i < 8; ++i) r.v[i] = HSum(a[i]);
  return r;
}
inline float HMax(F8 a) {
  float m = a.v[0];
  for (int i = 1; i < 8; ++i) m = a.v[i] > m ? a.v[i] : m;
  return m;
}

#endif  // FLYWHEEL_AVX2

// The one dot product of the attention kernels: lane l accumulates a[i]·b[i] for i ≡ l (mod 8) in
// increasing i with one FMA per term, then HSum. The order depends on n only.
inline float Dot(const float* a, const float* b, int64_t n) {
  F8 acc = Zero();
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) acc = Fma(Load(a + i), Load(b + i), acc);
  if (i < n) acc = Fma(LoadPartial(a + i, n - i), LoadPartial(b + i, n - i), acc);
  return HSum(acc);
}

// Lane r = Dot(a, b[r], n), bit for bit; eight independent chains keep the FMA units busy.
inline F8 Dot8(const float* a, const float* const b[8], int64_t n) {
  F8 acc[8];
  for (int r = 0; r < 8; ++r) acc[r] = Zero();
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const F8 x = Load(a + i);
    for (int r = 0; r < 8; ++r) acc[r] = Fma(x, Load(b[r] + i), acc[r]);
  }
  if (i < n) {
    const F8 x = LoadPartial(a + i, n - i);
    for (int r = 0; r < 8; ++r) acc[r] = Fma(x, LoadPartial(b[r] + i, n - i), acc[r]);
  }
  return HSum8(acc);
}

// Σ a[i]·b[i] over n for long rows: element i goes to accumulator (i / 8) mod 4, lane i mod 8;
// the accumulators combine as (A0 + A1) + (A2 + A3), then HSum. The order depends on n only.
inline float DotLong(const float* a, const float* b, int64_t n) {
  F8 acc[4] = {Zero(), Zero(), Zero(), Zero()};
  int64_t i = 0;
  for (; i + 4 * kLanes <= n; i += 4 * kLanes) {
    for (int c = 0; c < 4; ++c) {
      acc[c] = Fma(Load(a + i + c * kLanes), Load(b + i + c * kLanes), acc[c]);
    }
  }
  for (int c = 0; i < n; ++c, i += kLanes) {
    const int64_t m = n - i < kLanes ? n - i : kLanes;
    acc[c] = Fma(LoadPartial(a + i, m), LoadPartial(b + i, m), acc[c]);
  }
  return HSum(Add(Add(acc[0], acc[1]), Add(acc[2], acc[3])));
}

}  // namespace flywheel::kernels::vec
