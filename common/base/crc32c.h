// CRC-32C (Castagnoli), the checksum of weight-push chunks: cheap enough to verify every byte
// of a 400 MB push, and strong against the torn or misordered chunks a network can produce.
#pragma once

#include <cstddef>
#include <cstdint>

namespace flywheel {

// CRC-32C of data, continuing from `crc` (0 to start), as iSCSI and gRPC-ecosystem tools compute
// it (reflected polynomial 0x82F63B78, inverted in and out).
uint32_t Crc32c(const void* data, size_t size, uint32_t crc = 0);

// Copies size bytes from src to dst (which must not overlap) and returns their CRC-32C,
// continuing from crc, in one pass: a received chunk is checked while it is stored.
uint32_t Crc32cCopy(void* dst, const void* src, size_t size, uint32_t crc = 0);

}  // namespace flywheel
