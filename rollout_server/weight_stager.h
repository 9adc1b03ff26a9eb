// Assembles one weight push from its stream of chunks, checking everything before anything is
// applied: one version per push, known tensor names, chunks of a tensor in order and inside its
// bounds, CRC-32C of every chunk, and every tensor complete at the end. Any failure rejects the
// push whole; the engine keeps serving the old weights.
//
// Thread safety: none; one stager per PushWeights call.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/model/parameters.h"

namespace flywheel::rollout {

class WeightStager {
 public:
  // Stages into `buffer` when it holds exactly the layout's parameters (a recycled buffer, whose
  // old contents are all overwritten before Finish succeeds), else into a fresh allocation.
  explicit WeightStager(const model::ParameterLayout& layout, std::vector<float> buffer = {});

  // Copies one chunk into the staging buffer. `data` is little-endian float32 bytes at byte
  // `offset` of `tensor`. InvalidArgument (or DataLoss for a checksum mismatch) on any problem;
  // after an error the stager stays failed.
  absl::Status Add(int64_t version, const std::string& tensor, int64_t offset,
                   const std::string& data, uint32_t crc32c);

  // The assembled parameters once every tensor is complete; InvalidArgument naming the first
  // incomplete tensor otherwise.
  absl::StatusOr<std::vector<float>> Finish();

  int64_t version() const { return version_; }
  int64_t bytes() const { return bytes_; }

 private:
  const model::ParameterLayout& layout_;
  std::vector<float> params_;
  std::vector<int64_t> received_;  // Bytes received per tensor (chunks arrive in order).
  int64_t version_ = -1;
  int64_t bytes_ = 0;
  absl::Status failed_;
};

}  // namespace flywheel::rollout
