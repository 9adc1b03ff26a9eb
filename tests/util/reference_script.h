// Running a PyTorch reference script of tests/reference/ on a JSON input: the script reads
// --inp FILE and writes --out FILE, and the test compares flywheel's numbers with its output.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace flywheel::testing {

// Runs `script` (a path under tests/reference/, e.g. "grpo_ref.py") with the reference
// interpreter on `input` and returns the JSON it wrote. The error carries the script's output;
// it names python3-torch, which the scripts need.
absl::StatusOr<nlohmann::json> RunReferenceScript(const std::string& script,
                                                  const nlohmann::json& input);

}  // namespace flywheel::testing
