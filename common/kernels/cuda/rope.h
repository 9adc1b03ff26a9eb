// Rotary position embedding on the GPU: cpu/rope.h's rope_forward and rope_backward on device
// pointers, same rotate_half convention. The cos/sin table is the CPU's kernels::RopeTable,
// uploaded once per model; the GPU only reads it, so a position's rotation is the same bits on
// both paths and in every batch. Each output is two products and one add or subtract (plus the
// accumulation in backward), rounded as on the CPU, so the result matches the CPU bit for bit.
#pragma once

#include <cstdint>

namespace flywheel::kernels::cuda {

// A kernels::RopeTable's cos and sin in device memory, not owned: the caller uploads the table's
// vectors and keeps them alive while kernels use the view.
struct RopeTableView {
  int64_t max_positions = 0;
  int64_t half_dim = 0;        // D / 2
  const float* cos = nullptr;  // (max_positions, half_dim)
  const float* sin = nullptr;  // (max_positions, half_dim)
};

// out (N, H, D) = rope(inp (N, H, D)) with positions pos (N); out may alias inp. Every pos[n]
// must be < table.max_positions (checked by the caller). Device pointers. Synchronous. Returns
// false if the launch or the kernel fails.
bool rope_forward(float* out, const float* inp, const int32_t* pos, const RopeTableView& table,
                  int64_t N, int64_t H, int64_t D);

// dinp (N, H, D) += Rᵀ · dout (N, H, D), R the rotation of the table at positions pos (N).
// Device pointers. Synchronous. Returns false if the launch or the kernel fails.
bool rope_backward(float* dinp, const float* dout, const int32_t* pos, const RopeTableView& table,
                   int64_t N, int64_t H, int64_t D);

}  // namespace flywheel::kernels::cuda
