// Helpers for model tests: temporary directories, random models and batches, running scripts.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "common/model/checkpoint.h"
#include "common/model/config.h"
#include "tests/util/subprocess.h"

namespace flywheel::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A small config for tests; callers adjust fields.
model::ModelConfig TinyConfig();

// RoPE scaling of `type` ("linear", "llama3" or "yarn") sized for TinyConfig-like models: a
// pre-trained context of 32 positions stretched 4x, so that test sequences of a few dozen tokens
// reach the long wavelengths each type rescales, the short ones it keeps, and the blend between.
model::RopeScaling TestRopeScaling(const std::string& type);

// RandomModel with every parameter perturbed (norm weights around 1, biases non-zero, larger
// weights), so that every term of the forward and backward carries signal in a test.
model::ModelWeights PerturbedModel(const model::ModelConfig& config, uint64_t seed);

// Random token sequences with the given lengths.
std::vector<std::vector<int32_t>> RandomSequences(const std::vector<int>& lengths, int64_t vocab,
                                                  uint64_t seed);

}  // namespace flywheel::testing
