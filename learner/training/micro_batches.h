// How a batch of n sequences splits into micro-batches of at most `size`: consecutive ranges in
// batch order, so the split depends on n and size alone (and the results, with batch-invariant
// kernels, on neither). Shared by the trainer's forward/backward and by logprob recomputation.
// A value type; safe from any thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace flywheel::learner {

class MicroBatches {
 public:
  MicroBatches(size_t n, int64_t size) : n_(n), size_(static_cast<size_t>(size)) {}

  int64_t count() const { return static_cast<int64_t>((n_ + size_ - 1) / size_); }
  // [begin, end) of micro-batch k.
  std::pair<size_t, size_t> Range(int64_t k) const {
    const size_t b = static_cast<size_t>(k) * size_;
    return {b, std::min(n_, b + size_)};
  }
  template <typename T>
  std::vector<T> Slice(const std::vector<T>& v, int64_t k) const {
    const auto [b, e] = Range(k);
    return std::vector<T>(v.begin() + static_cast<std::ptrdiff_t>(b),
                          v.begin() + static_cast<std::ptrdiff_t>(e));
  }

 private:
  size_t n_, size_;
};

}  // namespace flywheel::learner
