// Token embedding: a row copy forward, a scatter-add backward.
#include "common/kernels/cpu/embedding.h"

#include <cstring>

namespace flywheel::kernels {

void embedding_forward(float* out, const int32_t* tokens, const float* wte, int64_t N, int64_t C) {
  for (int64_t n = 0; n < N; ++n) {
    std::memcpy(out + n * C, wte + static_cast<int64_t>(tokens[n]) * C, C * sizeof(float));
  }
}

// Single-threaded on purpose: a token repeated in the batch adds into one row, and adding the
// rows in n order keeps that sum deterministic. It is one pass over (N, C), far below the GEMMs.
void embedding_backward(float* dwte, const float* dout, const int32_t* tokens, int64_t N,
                        int64_t C) {
  for (int64_t n = 0; n < N; ++n) {
    float* row = dwte + static_cast<int64_t>(tokens[n]) * C;
    const float* d = dout + n * C;
    for (int64_t c = 0; c < C; ++c) row[c] += d[c];
  }
}

}  // namespace flywheel::kernels
