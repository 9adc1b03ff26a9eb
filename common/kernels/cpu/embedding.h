// Token embedding lookup. Token ids are validated by the caller (0 <= id < V).
#pragma once

#include <cstdint>

namespace flywheel::kernels {

// out (N, C) = wte[tokens[n], :]; tokens is (N), wte is (V, C).
void embedding_forward(float* out, const int32_t* tokens, const float* wte, int64_t N, int64_t C);

// dwte (V, C) += scatter of dout (N, C) by tokens, rows added in order n = 0..N-1.
void embedding_backward(float* dwte, const float* dout, const int32_t* tokens, int64_t N,
                        int64_t C);

}  // namespace flywheel::kernels
