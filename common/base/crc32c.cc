// CRC-32C with the SSE4.2 crc32 instruction where the build allows it, else slicing-by-8 tables.
//
// One crc32 instruction folds 8 bytes but has a 3-cycle latency, so a single running CRC is
// latency-bound at ~8 GB/s. Long inputs are therefore cut into blocks of three stripes whose CRCs
// run as three independent chains (~3x the speed), then combined: the CRC register is linear, so
// crc(A || B) = shift(crc(A)) ^ crc0(B), where crc0 starts from a zero register and shift(x) is
// the register after feeding kStripe zero bytes from x, a linear map of 32 bits applied through
// four 256-entry tables.
#include "common/base/crc32c.h"

#include <array>
#include <cstring>

#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

namespace flywheel {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // Reflected Castagnoli polynomial.

// Slicing-by-8 tables for the portable path.
struct Tables {
  std::array<std::array<uint32_t, 256>, 8> t;
  Tables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (kPoly & (0u - (c & 1)));
      t[0][i] = c;
    }
    for (int s = 1; s < 8; ++s) {
      for (uint32_t i = 0; i < 256; ++i) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
    }
  }
};

#if defined(__SSE4_2__)

// Stripe length of the three-chain path: long enough that the combine (two table shifts per
// block) costs little, short enough that a block of three stays in L1 for the fused copy.
constexpr size_t kStripe = 4096;

// The register after feeding `n` bytes (a multiple of 8) from register c. Copies them to dst too
// when dst is non-null.
inline uint64_t Chain(uint64_t c, const uint8_t* p, uint8_t* dst, size_t n) {
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v;
    std::memcpy(&v, p + i, 8);
    c = _mm_crc32_u64(c, v);
    if (dst != nullptr) std::memcpy(dst + i, &v, 8);
  }
  return c;
}

// shift(x): the register after kStripe zero bytes starting from x, as four byte tables.
struct ShiftTables {
  std::array<std::array<uint32_t, 256>, 4> t;
  ShiftTables() {
    static const uint8_t zeros[kStripe] = {};
    for (int b = 0; b < 4; ++b) {
      for (uint32_t v = 0; v < 256; ++v) {
        t[b][v] = static_cast<uint32_t>(Chain(uint64_t{v} << (8 * b), zeros, nullptr, kStripe));
      }
    }
  }
  uint32_t Shift(uint32_t x) const {
    return t[0][x & 0xff] ^ t[1][(x >> 8) & 0xff] ^ t[2][(x >> 16) & 0xff] ^ t[3][x >> 24];
  }
};

const ShiftTables& Shifts() {
  static const ShiftTables tables;
  return tables;
}

// The register after feeding size bytes from register c, copying them to dst when non-null.
uint32_t Update(uint32_t crc, const uint8_t* p, uint8_t* dst, size_t size) {
  uint64_t c = crc;
  if (size >= 3 * kStripe) {
    const ShiftTables& shifts = Shifts();
    for (; size >= 3 * kStripe; size -= 3 * kStripe, p += 3 * kStripe) {
      uint64_t a = c, b = 0, d = 0;
      for (size_t i = 0; i < kStripe; i += 8) {
        uint64_t va, vb, vd;
        std::memcpy(&va, p + i, 8);
        std::memcpy(&vb, p + kStripe + i, 8);
        std::memcpy(&vd, p + 2 * kStripe + i, 8);
        a = _mm_crc32_u64(a, va);
        b = _mm_crc32_u64(b, vb);
        d = _mm_crc32_u64(d, vd);
        if (dst != nullptr) {
          std::memcpy(dst + i, &va, 8);
          std::memcpy(dst + kStripe + i, &vb, 8);
          std::memcpy(dst + 2 * kStripe + i, &vd, 8);
        }
      }
      const uint32_t ab = shifts.Shift(static_cast<uint32_t>(a)) ^ static_cast<uint32_t>(b);
      c = shifts.Shift(ab) ^ static_cast<uint32_t>(d);
      if (dst != nullptr) dst += 3 * kStripe;
    }
  }
  const size_t whole = size / 8 * 8;
  c = Chain(c, p, dst, whole);
  p += whole;
  if (dst != nullptr) dst += whole;
  uint32_t c32 = static_cast<uint32_t>(c);
  for (size_t i = 0; i < size - whole; ++i) {
    c32 = _mm_crc32_u8(c32, p[i]);
    if (dst != nullptr) dst[i] = p[i];
  }
  return c32;
}

#else

uint32_t Update(uint32_t c, const uint8_t* p, uint8_t* dst, size_t size) {
  static const Tables tables;
  const auto& t = tables.t;
  if (dst != nullptr) std::memcpy(dst, p, size);
  for (; size >= 8; size -= 8, p += 8) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= c;
    c = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
        t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
  }
  for (; size > 0; --size) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xff];
  return c;
}

#endif

}  // namespace

uint32_t Crc32c(const void* data, size_t size, uint32_t crc) {
  return ~Update(~crc, static_cast<const uint8_t*>(data), nullptr, size);
}

uint32_t Crc32cCopy(void* dst, const void* src, size_t size, uint32_t crc) {
  return ~Update(~crc, static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst), size);
}

}  // namespace flywheel
