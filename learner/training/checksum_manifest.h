// Per-file checksums of a checkpoint directory: `checksums.json` lists every other file with its
// size and CRC-32C, so flipped or truncated bytes anywhere in a checkpoint (a bad disk, a copy cut
// short, a hand edit) are found before the weights are used, not as a mysteriously different run.
//
//   {"files": {"model.safetensors": {"bytes": 4194376, "crc32c": 1234567890}, ...}}
//
// Thread safety: free functions of their arguments.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace flywheel::learner {

inline constexpr char kChecksumFile[] = "checksums.json";

// Writes <dir>/checksums.json for `files` (names inside dir), reading each back from disk, and
// fsyncs it. An error names the file that could not be read or written.
absl::Status WriteChecksumManifest(const std::string& dir, const std::vector<std::string>& files);

// Checks every file <dir>/checksums.json lists: DataLoss naming the file for a missing file or a
// size or checksum mismatch (with both values), or an unreadable manifest. NotFound when the
// directory has no manifest (checkpoints written before manifests existed).
absl::Status VerifyChecksumManifest(const std::string& dir);

}  // namespace flywheel::learner
