// Writing a randomly initialised model directory with flywheel's byte-level tokenizer: what
// `flywheel init-model` does, and the demo's first step. Stateless; safe from any thread.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace flywheel::cli {

// Writes config.json + model.safetensors for model::PresetConfig(preset), initialised with
// `seed`, plus tokenizer.json / tokenizer_config.json, into out_dir (created if missing). Returns
// the parameter count. InvalidArgument for an unknown preset; I/O errors as the writers report.
absl::StatusOr<int64_t> WriteRandomModelDir(const std::string& preset, uint64_t seed,
                                            const std::string& out_dir);

}  // namespace flywheel::cli
