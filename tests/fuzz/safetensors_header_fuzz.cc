// Fuzz target: a .safetensors file's header (the JSON after the 8-byte length) against a data
// section size, as SafetensorsFile::Open checks it before touching any tensor. Input: 8 bytes of
// data size (little-endian), then the header text.
#include <cstdint>
#include <cstring>
#include <string>

#include "common/model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  uint64_t data_size = 0;
  std::memcpy(&data_size, data, 8);
  data_size %= uint64_t{1} << 40;  // files of up to 1 TiB
  const std::string header(reinterpret_cast<const char*>(data + 8), size - 8);
  auto tensors = flywheel::model::ParseSafetensorsHeader(header, data_size);
  if (tensors.ok()) {
    // What the parser promises: every range is inside the data and matches its shape.
    for (const auto& [name, t] : *tensors) {
      if (t.begin < 0 || t.end < t.begin || static_cast<uint64_t>(t.end) > data_size)
        __builtin_trap();
    }
  }
  return 0;
}
