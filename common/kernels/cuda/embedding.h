// Token embedding on the GPU: the signatures of cpu/embedding.h on device pointers.
// Forward is a row copy: no arithmetic, so it matches the CPU bit for bit and a row depends on no
// other row. Backward adds the rows in the CPU's order and matches it bit for bit too.
#pragma once

#include <cstdint>

namespace flywheel::kernels::cuda {

// out (N, C) = wte[tokens[n], :]; tokens (N), each in [0, V) (checked by the caller); wte (V, C):
// device pointers. Synchronous. Returns false if the launch or the kernel fails.
bool embedding_forward(float* out, const int32_t* tokens, const float* wte, int64_t N, int64_t C);

// dwte (V, C) += scatter of dout (N, C) by tokens (N), rows added in order n = 0..N-1 as on the
// CPU: device pointers. Deterministic (no atomics). Synchronous. Returns false if the launch or
// the kernel fails.
bool embedding_backward(float* dwte, const float* dout, const int32_t* tokens, int64_t N,
                        int64_t C);

}  // namespace flywheel::kernels::cuda
