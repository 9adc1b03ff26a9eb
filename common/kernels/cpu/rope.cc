// Rotary position embedding on (N, H, D) rows, rotate_half convention.
#include "common/kernels/cpu/rope.h"

#include <cmath>

namespace flywheel::kernels {

RopeTable rope_table(int64_t max_positions, int64_t D, double theta) {
  // The angle is formed in float exactly as Hugging Face's rotary embedding does it
  // (inv_freq = 1 / theta^(2i/D) and pos · inv_freq, each rounded to float); only cos and sin
  // are taken in double. Forming the angle in double instead would differ from PyTorch by up to
  // pos · 6e-8 rad, a relative error of ~1e-5 in q and k already at position 128.
  std::vector<float> inv_freq(D / 2);
  for (int64_t i = 0; i < D / 2; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(D);
    const float base_pow = static_cast<float>(std::pow(theta, static_cast<double>(exponent)));
    inv_freq[i] = 1.0f / base_pow;
  }
  return rope_table(max_positions, inv_freq, 1.0);
}

RopeTable rope_table(int64_t max_positions, const std::vector<float>& inv_freq,
                     double attention_factor) {
  RopeTable t;
  t.max_positions = max_positions;
  t.half_dim = static_cast<int64_t>(inv_freq.size());
  t.cos.resize(max_positions * t.half_dim);
  t.sin.resize(max_positions * t.half_dim);
  // Hugging Face scales the float cos and sin by the factor (a float multiply).
  const float scale = static_cast<float>(attention_factor);
  for (int64_t p = 0; p < max_positions; ++p) {
    for (int64_t i = 0; i < t.half_dim; ++i) {
      const float angle = static_cast<float>(p) * inv_freq[i];
      const float c = static_cast<float>(std::cos(static_cast<double>(angle)));
      const float s = static_cast<float>(std::sin(static_cast<double>(angle)));
      t.cos[p * t.half_dim + i] = scale == 1.0f ? c : c * scale;
      t.sin[p * t.half_dim + i] = scale == 1.0f ? s : s * scale;
    }
  }
  return t;
}

// out[i] = x[i]·c − x[i+D/2]·s and out[i+D/2] = x[i+D/2]·c + x[i]·s, the products rounded
// before the sum as in PyTorch's q * cos + rotate_half(q) * sin.
void rope_forward(float* out, const float* inp, const int32_t* pos, const RopeTable& table,
                  int64_t N, int64_t H, int64_t D) {
  const int64_t half = D / 2;
  for (int64_t n = 0; n < N; ++n) {
    const float* cs = table.cos.data() + static_cast<int64_t>(pos[n]) * half;
    const float* sn = table.sin.data() + static_cast<int64_t>(pos[n]) * half;
    for (int64_t h = 0; h < H; ++h) {
      const float* x = inp + (n * H + h) * D;
      float* y = out + (n * H + h) * D;
      for (int64_t i = 0; i < half; ++i) {
        const float x1 = x[i];
        const float x2 = x[i + half];
        y[i] = x1 * cs[i] - x2 * sn[i];
        y[i + half] = x2 * cs[i] + x1 * sn[i];
      }
    }
  }
}

// The backward is the transpose: the rotation by −angle, scaled as the table is.
void rope_backward(float* dinp, const float* dout, const int32_t* pos, const RopeTable& table,
                   int64_t N, int64_t H, int64_t D) {
  const int64_t half = D / 2;
  for (int64_t n = 0; n < N; ++n) {
    const float* cs = table.cos.data() + static_cast<int64_t>(pos[n]) * half;
    const float* sn = table.sin.data() + static_cast<int64_t>(pos[n]) * half;
    for (int64_t h = 0; h < H; ++h) {
      const float* dy = dout + (n * H + h) * D;
      float* dx = dinp + (n * H + h) * D;
      for (int64_t i = 0; i < half; ++i) {
        const float d1 = dy[i];
        const float d2 = dy[i + half];
        dx[i] += d1 * cs[i] + d2 * sn[i];
        dx[i + half] += d2 * cs[i] - d1 * sn[i];
      }
    }
  }
}

}  // namespace flywheel::kernels
