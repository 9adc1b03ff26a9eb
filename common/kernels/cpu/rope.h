// Rotary position embedding, Hugging Face "rotate_half" convention (Llama, Qwen2, Qwen3):
// for i < D/2 with angle a = pos * theta^(-2i/D):
//   out[i]       = x[i] * cos(a) - x[i + D/2] * sin(a)
//   out[i + D/2] = x[i + D/2] * cos(a) + x[i] * sin(a)
#pragma once

#include <cstdint>
#include <vector>

namespace flywheel::kernels {

// cos/sin of every (position, frequency) pair, computed once per model, so a position's table row
// never depends on the batch. The angle pos · theta^(-2i/D) is formed in float exactly as Hugging
// Face does (the reference the model is checked against); cos and sin of it are taken in double.
struct RopeTable {
  int64_t max_positions = 0;
  int64_t half_dim = 0;    // D / 2
  std::vector<float> cos;  // (max_positions, half_dim)
  std::vector<float> sin;  // (max_positions, half_dim)
};

// Builds the table for head dimension D (even) and base theta.
RopeTable rope_table(int64_t max_positions, int64_t D, double theta);

// Builds the table from precomputed inverse frequencies (D/2 of them; RoPE scaling rewrites
// them, see common/model/rope_scaling.h), with cos and sin multiplied by attention_factor
// (yarn's; 1 otherwise). The angle pos · inv_freq[i] is formed in float as above.
RopeTable rope_table(int64_t max_positions, const std::vector<float>& inv_freq,
                     double attention_factor);

// out (N, H, D) = rope(inp (N, H, D)) with positions pos (N); out may alias inp.
// Every pos[n] must be < table.max_positions.
void rope_forward(float* out, const float* inp, const int32_t* pos, const RopeTable& table,
                  int64_t N, int64_t H, int64_t D);

// dinp (N, H, D) += Rᵀ · dout (N, H, D), R the (possibly scaled) rotation of the table.
void rope_backward(float* dinp, const float* dout, const int32_t* pos, const RopeTable& table,
                   int64_t N, int64_t H, int64_t D);

}  // namespace flywheel::kernels
