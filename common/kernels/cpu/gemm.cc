// Batch-invariant fp32 GEMM, BLIS-style: B is packed into 16-column micro-panels, A into 6-row
// micro-panels, and register-blocked micro-kernels (gemm_microkernel.h) compute C tiles.
//
// Why the blocking cannot change the result: each C element owns one accumulator that gets one
// FMA per k in k order. Blocking K into KC slices stores the accumulator to C after a slice and
// reloads it before the next, which continues the very same chain (a float stored and reloaded is
// the same float). Threads own disjoint C tiles and never split K.
#include "common/kernels/cpu/gemm.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>

#include "common/kernels/cpu/gemm_microkernel.h"

namespace flywheel::kernels {
namespace {

using gemm_internal::GetMicroKernel;
using gemm_internal::kMR;
using gemm_internal::kNR;
using gemm_internal::MicroKernel;
using gemm_internal::PanelsPerCall;

// Cache blocking. Every KC block costs a pass over C (store, prefetch, reload), so long blocks win:
// KC = 512 measured 5-10% faster than 256 on both kernel families, although a 512 x 16 B
// micro-panel (32 KiB) then streams from L2 rather than staying in a Zen 3 L1. The MC x KC block
// of A (336 KiB) stays in a 512 KiB L2; the packed B block lives in L3.
constexpr int64_t kMaxKC = 512;
constexpr int64_t kMC = 168;                          // Multiple of kMR.
constexpr int64_t kNC = 3072;                         // Multiple of kNR.
constexpr int64_t kMaxPackFloats = int64_t{1} << 22;  // 16 MiB of packed B per calling thread.

// The micro-kernel family for many-row tiles, chosen once per process. Every family computes
// the same chains, so the choice changes speed only, never bits.
struct Isa {
  MicroKernel (*main_kernel)(int mr, int np);
  int main_panels;  // B panels per many-row tile.
};

const Isa& GetIsa() {
  static const Isa isa = [] {
#if defined(FLYWHEEL_AVX2)
    // FLYWHEEL_GEMM_NO_AVX512 lets tests (and suspicious users) run the AVX2 family on an
    // AVX-512 machine.
    if (__builtin_cpu_supports("avx512f") && std::getenv("FLYWHEEL_GEMM_NO_AVX512") == nullptr) {
      return Isa{gemm_internal::GetMicroKernelAvx512, gemm_internal::kAvx512Panels};
    }
#endif
    return Isa{GetMicroKernel, 1};
  }();
  return isa;
}

// Below this many FMAs a thread hand-off costs more than it saves.
constexpr int64_t kMinParallelWork = int64_t{1} << 16;

constexpr int64_t kAlignFloats = 16;  // 64 bytes: packed panels start on a cache line.

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

template <typename T>
T* AlignUp(T* p) {
  auto v = reinterpret_cast<uintptr_t>(p);
  return reinterpret_cast<T*>((v + 63) & ~uintptr_t{63});
}

// Per-thread scratch that grows and is then reused: packing buffers are needed on every call.
class Scratch {
 public:
  float* Get(int64_t n) {
    if (static_cast<int64_t>(storage_.size()) < n + kAlignFloats) storage_.resize(n + kAlignFloats);
    return AlignUp(storage_.data());
  }

 private:
  std::vector<float> storage_;
};

thread_local Scratch t_a_scratch;  // MC x KC block of A, per worker.
thread_local Scratch t_b_scratch;  // Packed B block (<= kMaxPackFloats), the caller's.

#if defined(FLYWHEEL_AVX2)
// Transposes 8 x 8 floats: rows[i][j] becomes rows[j][i].
inline void Transpose8x8(__m256 rows[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(rows[i], rows[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(rows[i], rows[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int i = 0; i < 4; ++i) {
    rows[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
    rows[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
  }
}

// Packs the first multiple-of-8 rows of a full panel whose 16 columns are contiguous rows of
// memory (src + j * ld, a linear layer's weight), 8 x 8 blocks at a time. Returns rows packed.
// The scalar gather it replaces dominated unpacked decode-sized calls.
int64_t PackTransposedPanel(const float* src, int64_t ld, int64_t kc, float* d) {
  const int64_t k_end = kc / 8 * 8;
  for (int64_t k = 0; k < k_end; k += 8) {
    for (int h = 0; h < 2; ++h) {
      __m256 rows[8];
      for (int j = 0; j < 8; ++j) rows[j] = _mm256_loadu_ps(src + (h * 8 + j) * ld + k);
      Transpose8x8(rows);
      for (int i = 0; i < 8; ++i) _mm256_store_ps(d + (k + i) * kNR + h * 8, rows[i]);
    }
  }
  return k_end;
}
#endif

// Packs B[k0 : k0+kc, n0 : n0+nc] panels q0..q1 (16 columns each, zero-padded past nc) into dst,
// panel q at dst + q * pstride, k-major within the panel.
void PackBPanels(const float* B, int64_t rsB, int64_t csB, int64_t k0, int64_t kc, int64_t n0,
                 int64_t nc, int64_t q0, int64_t q1, float* dst, int64_t pstride) {
  for (int64_t q = q0; q < q1; ++q) {
    const int64_t col = n0 + q * kNR;
    const int64_t nv = std::min<int64_t>(kNR, nc - q * kNR);
    float* d = dst + q * pstride;
    if (csB == 1) {
      for (int64_t k = 0; k < kc; ++k) {
        const float* s = B + (k0 + k) * rsB + col;
        std::memcpy(d + k * kNR, s, nv * sizeof(float));
        std::fill(d + k * kNR + nv, d + (k + 1) * kNR, 0.0f);
      }
    } else {
      int64_t k_done = 0;
#if defined(FLYWHEEL_AVX2)
      if (rsB == 1 && nv == kNR) k_done = PackTransposedPanel(B + col * csB + k0, csB, kc, d);
#endif
      // Column j of the panel is a row of the stored (transposed) matrix when rsB == 1: walk it
      // contiguously and scatter into the panel, which fits in L1.
      for (int64_t j = 0; j < nv; ++j) {
        const float* s = B + k0 * rsB + (col + j) * csB;
        for (int64_t k = k_done; k < kc; ++k) d[k * kNR + j] = s[k * rsB];
      }
      for (int64_t j = nv; j < kNR; ++j) {
        for (int64_t k = 0; k < kc; ++k) d[k * kNR + j] = 0.0f;
      }
    }
  }
}

// Packs A[m0 : m0+mc, k0 : k0+kc] into row panels of kMR rows (the last one may be shorter);
// panel i starts at dst + i * kMR * kc and holds a[k * mr + r].
void PackA(const float* A, int64_t rsA, int64_t csA, int64_t m0, int64_t mc, int64_t k0, int64_t kc,
           float* dst) {
  for (int64_t i = 0; i < mc; i += kMR) {
    const int64_t mr = std::min<int64_t>(kMR, mc - i);
    float* d = dst + i * kc;
    const float* s = A + (m0 + i) * rsA + k0 * csA;
    if (rsA == 1) {
      for (int64_t k = 0; k < kc; ++k) {
        for (int64_t r = 0; r < mr; ++r) d[k * mr + r] = s[k * csA + r];
      }
    } else {
      for (int64_t r = 0; r < mr; ++r) {
        const float* row = s + r * rsA;
        for (int64_t k = 0; k < kc; ++k) d[k * mr + r] = row[k * csA];
      }
    }
  }
}

// One micro-kernel call on an mr x (16 * np) tile of which only ncols columns exist in C. Partial
// tiles go through a local buffer so the kernel can always write whole vectors.
void RunTile(MicroKernel kernel, int mr, int np, int64_t kc, const float* a, const float* b,
             int64_t bs, float* c, int64_t ldc, int64_t ncols, bool load) {
  const int64_t width = np * kNR;
  if (ncols == width) {
    kernel(kc, a, b, bs, c, ldc, load);
    return;
  }
  alignas(64) float tmp[kMR * kNR * 4] = {};  // mr * np * 16 <= 384 floats in every family.
  if (load) {
    for (int r = 0; r < mr; ++r) std::memcpy(tmp + r * width, c + r * ldc, ncols * sizeof(float));
  }
  kernel(kc, a, b, bs, tmp, width, load);
  for (int r = 0; r < mr; ++r) std::memcpy(c + r * ldc, tmp + r * width, ncols * sizeof(float));
}

void PrefetchTile(const float* c, int64_t ldc, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < cols; j += 16) __builtin_prefetch(c + r * ldc + j, 1, 3);
  }
}

struct Operands {
  const float* A;
  int64_t rsA, csA;
  float* C;
  int64_t ldC;
};

// C[m0:m1, jc + 16*q0 : jc + 16*q1] (clipped to nc columns of the block) over k in [k0, k0+kc),
// with the packed B block `b` (panel q at b + q * pstride, already offset to k0).
void ComputeTile(const Operands& op, int64_t m0, int64_t m1, int64_t q0, int64_t q1, const float* b,
                 int64_t pstride, int64_t nc, int64_t jc, int64_t k0, int64_t kc, bool load) {
  const Isa& isa = GetIsa();
  float* abuf = t_a_scratch.Get(kMC * kMaxKC);
  for (int64_t ic = m0; ic < m1; ic += kMC) {
    const int64_t mc = std::min(kMC, m1 - ic);
    PackA(op.A, op.rsA, op.csA, ic, mc, k0, kc, abuf);
    float* c = op.C + ic * op.ldC + jc;
    if (mc > kMR) {
      // Classic order: the tile's B micro-panels stay in cache while every row panel of the A
      // block streams past them.
      for (int64_t q = q0; q < q1; q += isa.main_panels) {
        const int np = static_cast<int>(std::min<int64_t>(isa.main_panels, q1 - q));
        const int64_t ncols = std::min<int64_t>(np * kNR, nc - q * kNR);
        for (int64_t i = 0; i < mc; i += kMR) {
          const int mr = static_cast<int>(std::min<int64_t>(kMR, mc - i));
          // The chains start from C, so the kernel's first instruction needs the tile: fetch the
          // next tile while this one computes (C is far bigger than the caches).
          if (i + kMR < mc) {
            PrefetchTile(c + (i + kMR) * op.ldC + q * kNR, op.ldC,
                         std::min<int64_t>(kMR, mc - i - kMR), ncols);
          } else if (q + np < q1) {
            PrefetchTile(c + (q + np) * kNR, op.ldC, std::min<int64_t>(kMR, mc),
                         std::min<int64_t>(np * kNR, nc - (q + np) * kNR));
          }
          RunTile(isa.main_kernel(mr, np), mr, np, kc, abuf + i * kc, b + q * pstride, pstride,
                  c + i * op.ldC + q * kNR, op.ldC, ncols, load);
        }
      }
    } else {
      // A few rows (decode): widen the tile over several B panels for enough FMA chains.
      const int mr = static_cast<int>(mc);
      const int64_t step = PanelsPerCall(mr);
      for (int64_t q = q0; q < q1; q += step) {
        const int np = static_cast<int>(std::min(step, q1 - q));
        const int64_t ncols = std::min<int64_t>(np * kNR, nc - q * kNR);
        RunTile(GetMicroKernel(mr, np), mr, np, kc, abuf, b + q * pstride, pstride, c + q * kNR,
                op.ldC, ncols, load);
      }
    }
  }
}

struct Part {
  int64_t m0, m1, q0, q1;
};

// Thread t's share of an M x (P panels) output: whole row panels when there are enough rows,
// otherwise whole groups of B panels. Either way no reduction is split.
Part Partition(int64_t M, int64_t P, int T, int t) {
  const int64_t row_units = CeilDiv(M, kMR);
  if (T == 1) return {0, M, 0, P};
  if (row_units >= 4 * T) {
    return {std::min(M, row_units * t / T * kMR), std::min(M, row_units * (t + 1) / T * kMR), 0, P};
  }
  const int64_t g = M <= kMR ? PanelsPerCall(static_cast<int>(M)) : GetIsa().main_panels;
  const int64_t units = CeilDiv(P, g);
  return {0, M, std::min(P, units * t / T * g), std::min(P, units * (t + 1) / T * g)};
}

// Thread part `p` of C over k in [k0, k0 + klen), B packed as klen-row panels (panel q at
// b + q * pstride), one KC block at a time.
void ComputePart(const Operands& op, const Part& p, const float* b, int64_t pstride, int64_t nc,
                 int64_t jc, int64_t k0, int64_t klen, bool accumulate) {
  if (p.m0 >= p.m1 || p.q0 >= p.q1) return;
  // Equal blocks: a short last block would pay a whole pass over C for little work.
  const int64_t kc_block = CeilDiv(klen, CeilDiv(klen, kMaxKC));
  for (int64_t pc = 0; pc < klen; pc += kc_block) {
    const int64_t kc = std::min(kc_block, klen - pc);
    // Only the very first block may start from zero; every later one continues the chain in C.
    const bool load = accumulate || k0 + pc > 0;
    ComputeTile(op, p.m0, p.m1, p.q0, p.q1, b + pc * kNR, pstride, nc, jc, k0 + pc, kc, load);
  }
}

int ThreadsFor(ThreadPool* pool, int64_t M, int64_t N, int64_t K) {
  if (pool == nullptr || M * N * K < kMinParallelWork) return 1;
  return pool->num_threads();
}

void RunThreads(ThreadPool* pool, int T, const std::function<void(int)>& fn) {
  if (T == 1) {
    fn(0);
  } else {
    pool->Run(fn);
  }
}

// The chain over an empty K: C stays (accumulate) or becomes +0.0f.
void HandleEmptyK(int64_t M, int64_t N, float* C, int64_t ldC, bool accumulate) {
  if (accumulate) return;
  for (int64_t m = 0; m < M; ++m) std::fill(C + m * ldC, C + m * ldC + N, 0.0f);
}

}  // namespace

void Gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t rsA, int64_t csA, const float* B,
          int64_t rsB, int64_t csB, float* C, int64_t ldC, bool accumulate, ThreadPool* pool) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) return HandleEmptyK(M, N, C, ldC, accumulate);
  const Operands op{A, rsA, csA, C, ldC};
  const int T = ThreadsFor(pool, M, N, K);
  const int64_t kc = kMaxKC;
  const int64_t P_max = CeilDiv(std::min(kNC, N), kNR);
  // Rows of B packed per hand-off to the threads: as many KC blocks as kMaxPackFloats allows, so a
  // typical linear layer costs two pool round trips (pack, compute) rather than two per KC block.
  const int64_t kb_max = std::max(kc, kMaxPackFloats / (P_max * kNR) / kc * kc);
  float* bbuf = t_b_scratch.Get(std::min(kb_max, K) * P_max * kNR);
  for (int64_t jc = 0; jc < N; jc += kNC) {
    const int64_t nc = std::min(kNC, N - jc);
    const int64_t P = CeilDiv(nc, kNR);
    for (int64_t kb = 0; kb < K; kb += kb_max) {
      const int64_t kb_len = std::min(kb_max, K - kb);
      RunThreads(pool, T, [&](int t) {
        PackBPanels(B, rsB, csB, kb, kb_len, jc, nc, P * t / T, P * (t + 1) / T, bbuf,
                    kb_len * kNR);
      });
      RunThreads(pool, T, [&](int t) {
        ComputePart(op, Partition(M, P, T, t), bbuf, kb_len * kNR, nc, jc, kb, kb_len, accumulate);
      });
    }
  }
}

void PackedMatrix::Pack(int64_t K, int64_t N, const float* B, int64_t rsB, int64_t csB,
                        ThreadPool* pool) {
  const int64_t P = CeilDiv(N, kNR);
  const int64_t size = K > 0 && N > 0 ? P * K * kNR + kAlignFloats : 0;
  if (k_ != K || n_ != N || static_cast<int64_t>(data_.size()) != size) {
    data_.assign(size, 0.0f);
  }
  k_ = K;
  n_ = N;
  if (size == 0) return;
  float* base = AlignUp(data_.data());
  ParallelFor(pool, P, [&](int64_t q0, int64_t q1) {
    PackBPanels(B, rsB, csB, 0, K, 0, N, q0, q1, base, K * kNR);
  });
}

void GemmPacked(int64_t M, const float* A, int64_t rsA, int64_t csA, const PackedMatrix& B,
                float* C, int64_t ldC, bool accumulate, ThreadPool* pool) {
  const int64_t K = B.k();
  const int64_t N = B.n();
  if (M <= 0 || N <= 0) return;
  if (K <= 0) return HandleEmptyK(M, N, C, ldC, accumulate);
  const Operands op{A, rsA, csA, C, ldC};
  const int T = ThreadsFor(pool, M, N, K);
  const float* base = AlignUp(B.data());
  const int64_t P = CeilDiv(N, kNR);
  RunThreads(pool, T, [&](int t) {
    ComputePart(op, Partition(M, P, T, t), base, K * kNR, N, 0, 0, K, accumulate);
  });
}

}  // namespace flywheel::kernels
