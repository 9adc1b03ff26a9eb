// Register-blocked micro-kernels for gemm.cc (private to it).
//
// A micro-kernel computes an MR x (16 * NP) tile of C from a packed A micro-panel (kc x MR,
// k-major: a[k * MR + r]) and NP packed B micro-panels (kc x 16 each, k-major: b[p * bs + k * 16
// + j]). Every output element keeps its own accumulator and receives exactly one FMA per k, in k
// order: vectorising over rows and columns never reorders a reduction, so the tile shape and the
// ISA do not change a single bit (a vector FMA rounds once per lane, exactly like std::fma).
//
// AVX2 shapes: MR x 16 for MR = 4..6 (the 6x16 tile holds 12 accumulators + 2 B vectors + 1
// broadcast in the 16 ymm registers); for MR <= 3 the tile widens over NP panels so that there are
// still enough independent FMA chains (FMA latency x 2 pipes ~ 8-10) to hide latency, which is what
// the decode shapes (M = 1..3 rows) need. Where the CPU has AVX-512, many-row tiles use a 6 x 64
// zmm kernel instead (MicroKernelAvx512).
#pragma once

#include <cmath>
#include <cstdint>

#if defined(FLYWHEEL_AVX2)
#include <immintrin.h>
#endif

namespace flywheel::kernels::gemm_internal {

constexpr int kMR = 6;   // Rows of the main micro-kernel.
constexpr int kNR = 16;  // Columns of one packed B micro-panel.

// Panels per micro-kernel call for a row panel of `mr` rows: at most 12 accumulators.
constexpr int PanelsPerCall(int mr) { return mr == 1 ? 6 : mr == 2 ? 3 : mr == 3 ? 2 : 1; }

// c is the tile's top-left element, row stride ldc. If load, the chains start from c (a previous
// K block or the caller's accumulate); otherwise from +0.0f.
using MicroKernel = void (*)(int64_t kc, const float* a, const float* b, int64_t bs, float* c,
                             int64_t ldc, bool load);

#if defined(FLYWHEEL_AVX2)

template <int MR, int NP>
void MicroKernelImpl(int64_t kc, const float* __restrict a, const float* __restrict b, int64_t bs,
                     float* __restrict c, int64_t ldc, bool load) {
  __m256 acc[MR][NP][2];
  if (load) {
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 8
      for (int p = 0; p < NP; ++p) {
        acc[r][p][0] = _mm256_loadu_ps(c + r * ldc + p * kNR);
        acc[r][p][1] = _mm256_loadu_ps(c + r * ldc + p * kNR + 8);
      }
    }
  } else {
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 8
      for (int p = 0; p < NP; ++p) {
        acc[r][p][0] = _mm256_setzero_ps();
        acc[r][p][1] = _mm256_setzero_ps();
      }
    }
  }
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    __m256 b0[NP], b1[NP];
#pragma GCC unroll 8
    for (int p = 0; p < NP; ++p) {
      b0[p] = _mm256_load_ps(b + p * bs + k * kNR);
      b1[p] = _mm256_load_ps(b + p * bs + k * kNR + 8);
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + k * MR + r);
#pragma GCC unroll 8
      for (int p = 0; p < NP; ++p) {
        acc[r][p][0] = _mm256_fmadd_ps(av, b0[p], acc[r][p][0]);
        acc[r][p][1] = _mm256_fmadd_ps(av, b1[p], acc[r][p][1]);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 8
    for (int p = 0; p < NP; ++p) {
      _mm256_storeu_ps(c + r * ldc + p * kNR, acc[r][p][0]);
      _mm256_storeu_ps(c + r * ldc + p * kNR + 8, acc[r][p][1]);
    }
  }
}

#else  // Portable fallback: the same chains with std::fma, hence the same bits.

template <int MR, int NP>
void MicroKernelImpl(int64_t kc, const float* __restrict a, const float* __restrict b, int64_t bs,
                     float* __restrict c, int64_t ldc, bool load) {
  float acc[MR][NP * kNR];
  for (int r = 0; r < MR; ++r) {
    for (int p = 0; p < NP; ++p) {
      for (int j = 0; j < kNR; ++j) acc[r][p * kNR + j] = load ? c[r * ldc + p * kNR + j] : 0.0f;
    }
  }
  for (int64_t k = 0; k < kc; ++k) {
    for (int r = 0; r < MR; ++r) {
      const float av = a[k * MR + r];
      for (int p = 0; p < NP; ++p) {
        const float* bk = b + p * bs + k * kNR;
        for (int j = 0; j < kNR; ++j) {
          acc[r][p * kNR + j] = std::fma(av, bk[j], acc[r][p * kNR + j]);
        }
      }
    }
  }
  for (int r = 0; r < MR; ++r) {
    for (int j = 0; j < NP * kNR; ++j) c[r * ldc + j] = acc[r][j];
  }
}

#endif

// AVX2 (or portable) micro-kernel for an mr-row panel spanning np B panels (1 <= mr <= kMR,
// 1 <= np <= PanelsPerCall(mr)).
inline MicroKernel GetMicroKernel(int mr, int np) {
  switch (mr) {
    case 1: {
      constexpr MicroKernel k1[] = {MicroKernelImpl<1, 1>, MicroKernelImpl<1, 2>,
                                    MicroKernelImpl<1, 3>, MicroKernelImpl<1, 4>,
                                    MicroKernelImpl<1, 5>, MicroKernelImpl<1, 6>};
      return k1[np - 1];
    }
    case 2: {
      constexpr MicroKernel k2[] = {MicroKernelImpl<2, 1>, MicroKernelImpl<2, 2>,
                                    MicroKernelImpl<2, 3>};
      return k2[np - 1];
    }
    case 3:
      return np == 1 ? MicroKernelImpl<3, 1> : MicroKernelImpl<3, 2>;
    case 4:
      return MicroKernelImpl<4, 1>;
    case 5:
      return MicroKernelImpl<5, 1>;
    default:
      return MicroKernelImpl<6, 1>;
  }
}

#if defined(FLYWHEEL_AVX2)

// AVX-512 variant of the many-rows kernel, chosen at run time where the CPU has it (the build
// targets AVX2, so it is compiled for these functions only). One zmm covers a whole 16-column B
// panel; the 6 x 64 tile holds 24 accumulators + 4 B vectors + 1 broadcast in the 32 registers.
// Same chains, same bits as the AVX2 kernels.
constexpr int kAvx512Panels = 4;

template <int MR, int NP>
__attribute__((target("avx512f"))) void MicroKernelAvx512(int64_t kc, const float* __restrict a,
                                                          const float* __restrict b, int64_t bs,
                                                          float* __restrict c, int64_t ldc,
                                                          bool load) {
  __m512 acc[MR][NP];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 8
    for (int p = 0; p < NP; ++p) {
      acc[r][p] = load ? _mm512_loadu_ps(c + r * ldc + p * kNR) : _mm512_setzero_ps();
    }
  }
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; ++k) {
    __m512 bv[NP];
#pragma GCC unroll 8
    for (int p = 0; p < NP; ++p) bv[p] = _mm512_load_ps(b + p * bs + k * kNR);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m512 av = _mm512_set1_ps(a[k * MR + r]);
#pragma GCC unroll 8
      for (int p = 0; p < NP; ++p) acc[r][p] = _mm512_fmadd_ps(av, bv[p], acc[r][p]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 8
    for (int p = 0; p < NP; ++p) _mm512_storeu_ps(c + r * ldc + p * kNR, acc[r][p]);
  }
}

template <int MR>
MicroKernel Avx512ForRows(int np) {
  constexpr MicroKernel k[] = {MicroKernelAvx512<MR, 1>, MicroKernelAvx512<MR, 2>,
                               MicroKernelAvx512<MR, 3>, MicroKernelAvx512<MR, 4>};
  return k[np - 1];
}

// 1 <= mr <= kMR, 1 <= np <= kAvx512Panels.
inline MicroKernel GetMicroKernelAvx512(int mr, int np) {
  constexpr MicroKernel (*kByRows[])(int) = {Avx512ForRows<1>, Avx512ForRows<2>, Avx512ForRows<3>,
                                             Avx512ForRows<4>, Avx512ForRows<5>, Avx512ForRows<6>};
  return kByRows[mr - 1](np);
}

#endif

}  // namespace flywheel::kernels::gemm_internal
