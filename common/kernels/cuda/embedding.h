// Token embedding lookup on the GPU: the signature of cpu/embedding.h on device pointers.
// A row copy: no arithmetic, so the result matches the CPU bit for bit and depends on no other row.
#pragma once

#include <cstdint>

namespace flywheel::kernels::cuda {

// out (N, C) = wte[tokens[n], :]; tokens (N), each in [0, V) (checked by the caller); wte (V, C):
// device pointers. Synchronous. Returns false if the launch or the kernel fails.
bool embedding_forward(float* out, const int32_t* tokens, const float* wte, int64_t N, int64_t C);

}  // namespace flywheel::kernels::cuda
