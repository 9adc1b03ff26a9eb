// Residual connection on the GPU: the signatures of cpu/residual.h on device pointers.
// One add per element: the result matches the CPU bit for bit and depends on no other element.
#pragma once

#include <cstdint>

namespace flywheel::kernels::cuda {

// out (n) = a + b; out may alias a or b. Device pointers. Synchronous. Returns false if the
// launch or the kernel fails.
bool residual_forward(float* out, const float* a, const float* b, int64_t n);

// da (n) += dout; db (n) += dout. Either may be null. Device pointers. Synchronous. Returns false
// if the launch or the kernel fails.
bool residual_backward(float* da, float* db, const float* dout, int64_t n);

}  // namespace flywheel::kernels::cuda
