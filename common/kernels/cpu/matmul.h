// Linear layers in Hugging Face layout on top of Gemm: weight is (OC, C), y = x · weightᵀ + bias.
// Backward gradients accumulate (+=) into their outputs; pass nullptr to skip one.
#pragma once

#include <cstdint>

#include "common/base/thread_pool.h"
#include "common/kernels/cpu/gemm.h"

namespace flywheel::kernels {

// out is (N, OC), inp is (N, C), weight is (OC, C), bias is (OC) or null.
// out[n, o] = fma chain over c of inp[n, c] * weight[o, c], started from bias[o] (or 0).
void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t N,
                    int64_t C, int64_t OC, ThreadPool* pool);

// As matmul_forward with weightᵀ pre-packed (weight_t.k() == C, weight_t.n() == OC); bit-identical.
void matmul_forward_packed(float* out, const float* inp, const PackedMatrix& weight_t,
                           const float* bias, int64_t N, ThreadPool* pool);

// Packs weight (OC, C) as the (C, OC) operand matmul_forward_packed expects.
void pack_linear_weight(PackedMatrix* weight_t, const float* weight, int64_t C, int64_t OC,
                        ThreadPool* pool);

// dinp (N, C) += dout · weight; dweight (OC, C) += doutᵀ · inp; dbias (OC) += Σ_n dout[n, :].
// dout is (N, OC), inp is (N, C), weight is (OC, C).
void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int64_t N, int64_t C, int64_t OC, ThreadPool* pool);

}  // namespace flywheel::kernels
