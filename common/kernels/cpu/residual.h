// Residual connections: elementwise sums.
#pragma once

#include <cstdint>

namespace flywheel::kernels {

// out (n) = a + b; out may alias a or b.
void residual_forward(float* out, const float* a, const float* b, int64_t n);

// da (n) += dout; db (n) += dout. Either may be null.
void residual_backward(float* da, float* db, const float* dout, int64_t n);

}  // namespace flywheel::kernels
