// What the CUDA kernel tests share: a fixture that skips without a GPU, an RAII device buffer,
// random inputs, and the two comparisons (within a tolerance against the CPU twin, bitwise between
// a row computed alone and the same row computed in a batch).
#pragma once

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "common/kernels/cuda/device.h"
#include "gtest/gtest.h"
#include "tests/kernels/grad_check.h"

namespace flywheel::cuda_test {

// Skips every test of a derived fixture, with the CUDA runtime's reason, when there is no GPU.
class CudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (kernels::cuda::DeviceCount(&why) == 0)
      GTEST_SKIP() << "no CUDA device here (" << why << ")";
  }
};

// n elements of T in device memory, freed on destruction. Not copyable. ok() is false once the
// allocation or an upload failed; Download() then returns an empty vector (as when the copy
// itself fails), so a test's comparison against it fails without a check of its own.
template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t n) : n_(n) {
    if (cudaMalloc(&ptr_, n * sizeof(T)) != cudaSuccess) ptr_ = nullptr;
  }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { Upload(host); }
  ~DeviceBuffer() { cudaFree(ptr_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  bool ok() const { return ptr_ != nullptr && ok_; }
  T* get() const { return ptr_; }

  // host must hold exactly n elements.
  void Upload(const std::vector<T>& host) {
    ok_ = ok_ && host.size() == n_ &&
          cudaMemcpy(ptr_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice) == cudaSuccess;
  }
  std::vector<T> Download() const {
    std::vector<T> host(n_);
    if (!ok() ||
        cudaMemcpy(host.data(), ptr_, n_ * sizeof(T), cudaMemcpyDeviceToHost) != cudaSuccess) {
      return {};
    }
    return host;
  }

 private:
  size_t n_;
  T* ptr_ = nullptr;
  bool ok_ = true;
};

// Uniform floats in [lo, hi) from a fixed seed: the CPU kernel tests' helper.
using kernels::testing::RandomVector;

// n draws uniform in [0, bound).
inline std::vector<int32_t> RandomIndices(size_t n, int32_t bound, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> ud(0, bound - 1);
  std::vector<int32_t> v(n);
  for (auto& x : v) x = ud(rng);
  return v;
}

// Row `row` of a (rows, width) matrix held row-major in v.
template <typename T>
std::vector<T> Row(const std::vector<T>& v, int64_t row, int64_t width) {
  return std::vector<T>(v.begin() + row * width, v.begin() + (row + 1) * width);
}

// |got - want| <= rel · |want| + abs element by element; names the first element that is not.
inline ::testing::AssertionResult AllNear(const std::vector<float>& got,
                                          const std::vector<float>& want, float rel, float abs) {
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure() << "size " << got.size() << " != " << want.size();
  }
  for (size_t i = 0; i < got.size(); ++i) {
    if (!(std::fabs(got[i] - want[i]) <= rel * std::fabs(want[i]) + abs)) {
      return ::testing::AssertionFailure() << "element " << i << ": " << got[i] << " vs " << want[i]
                                           << " (rel " << rel << ", abs " << abs << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

// The same bits element by element (NaN included); names the first element that differs.
template <typename T>
::testing::AssertionResult BitwiseEqual(const std::vector<T>& got, const std::vector<T>& want) {
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure() << "size " << got.size() << " != " << want.size();
  }
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::memcmp(&got[i], &want[i], sizeof(T)) != 0) {
      return ::testing::AssertionFailure()
             << "element " << i << ": " << got[i] << " vs " << want[i];
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace flywheel::cuda_test
