#include "common/base/crc32c.h"

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace flywheel {
namespace {

TEST(Crc32cTest, KnownVectors) {
  // Check values from RFC 3720 (iSCSI), appendix B.4, and the common "123456789" check value.
  EXPECT_EQ(Crc32c("123456789", 9), 0xE3069283u);
  std::vector<uint8_t> zeros(32, 0), ones(32, 0xff), inc(32);
  for (int i = 0; i < 32; ++i) inc[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(Crc32c(zeros.data(), 32), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(ones.data(), 32), 0x62A8AB43u);
  EXPECT_EQ(Crc32c(inc.data(), 32), 0x46DD794Eu);
  EXPECT_EQ(Crc32c(nullptr, 0), 0u);
}

TEST(Crc32cTest, ContinuesAcrossPieces) {
  std::mt19937 rng(1);
  std::string data(1000, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  for (size_t cut : {0, 1, 7, 8, 9, 500, 999}) {
    EXPECT_EQ(Crc32c(data.data() + cut, data.size() - cut, Crc32c(data.data(), cut)),
              Crc32c(data.data(), data.size()));
  }
}

// Long inputs take the three-chain path (blocks of 3 x 4 KiB, combined through shift tables); a
// bitwise reference of the definition must agree on every length around the block boundaries,
// whatever the starting CRC, and the fused copy must copy exactly and give the same value.
TEST(Crc32cTest, LongInputsMatchTheBitwiseDefinition) {
  auto reference = [](const uint8_t* p, size_t n, uint32_t crc) {
    uint32_t c = ~crc;
    for (size_t i = 0; i < n; ++i) {
      c ^= p[i];
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
    }
    return ~c;
  };
  std::mt19937 rng(7);
  std::vector<uint8_t> data(3 * 3 * 4096 + 77);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  for (size_t n : {size_t{12287}, size_t{12288}, size_t{12289}, size_t{12295}, size_t{24576},
                   size_t{36864}, data.size()}) {
    for (uint32_t start : {0u, 0xDEADBEEFu}) {
      const uint32_t want = reference(data.data(), n, start);
      EXPECT_EQ(Crc32c(data.data(), n, start), want) << n;
      std::vector<uint8_t> copy(n + 1, 0xAB);
      EXPECT_EQ(Crc32cCopy(copy.data(), data.data(), n, start), want) << n;
      EXPECT_EQ(0, std::memcmp(copy.data(), data.data(), n)) << n;
      EXPECT_EQ(copy[n], 0xAB) << "wrote past the end, n=" << n;
    }
  }
}

}  // namespace
}  // namespace flywheel
