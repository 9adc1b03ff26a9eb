// Reading and writing .safetensors files (https://huggingface.co/docs/safetensors): an 8-byte
// little-endian header length, a JSON header naming each tensor's dtype, shape and byte range,
// then the raw data. flywheel reads F32, BF16 and F16 (converted to float) and writes F32.
//
// Every field of an untrusted file is checked before use: a truncated or oversized header,
// offsets past the end of the data, overlapping or misaligned ranges and shape/size mismatches
// return InvalidArgument naming the file and tensor, never a crash.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace flywheel::model {

enum class DType { kF32, kBF16, kF16 };

struct TensorEntry {
  DType dtype;
  std::vector<int64_t> shape;
  int64_t numel = 0;
  int64_t begin = 0;  // Byte offsets into the data section.
  int64_t end = 0;
};

// A validated, memory-mapped safetensors file. Not copyable; thread-compatible (const methods may
// be called concurrently).
class SafetensorsFile {
 public:
  static absl::StatusOr<std::unique_ptr<SafetensorsFile>> Open(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::map<std::string, TensorEntry>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // Converts tensor `name` to float into out (numel floats). NotFound if absent; InvalidArgument
  // if its shape differs from `expected_shape` (when non-empty).
  absl::Status ReadFloat(const std::string& name, const std::vector<int64_t>& expected_shape,
                         float* out) const;

 private:
  SafetensorsFile() = default;
  std::string path_;
  const uint8_t* map_ = nullptr;
  size_t map_size_ = 0;
  const uint8_t* data_ = nullptr;  // Start of the data section inside the mapping.
  size_t data_size_ = 0;
  std::map<std::string, TensorEntry> tensors_;
  std::map<std::string, std::string> metadata_;
};

// Parses and validates a header (the JSON text) against a data section of data_size bytes.
// Exposed for tests that feed malformed headers.
absl::StatusOr<std::map<std::string, TensorEntry>> ParseSafetensorsHeader(const std::string& json,
                                                                          uint64_t data_size);

struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  const float* data;  // shape's product floats
};

// Writes F32 tensors atomically: to path + ".tmp", fsync, then rename over path, so a crash never
// leaves a half-written file under the final name.
absl::Status WriteSafetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                              const std::map<std::string, std::string>& metadata = {});

// Format helpers (exposed for tests).
float Bf16ToFloat(uint16_t bits);
float F16ToFloat(uint16_t bits);
std::string ShapeToString(const std::vector<int64_t>& shape);

}  // namespace flywheel::model
