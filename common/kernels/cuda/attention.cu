#include <cmath>

#include "common/kernels/cuda/attention.h"
#include "common/kernels/cuda/launch.cuh"

namespace flywheel::kernels::cuda {
namespace {

// One query's score against key j: Σ_i q[i]·k[i] with lane l = i mod 8 accumulating its terms in
// increasing i with one FMA each, the lanes combined as ((l0 + l1) + (l2 + l3)) + ((l4 + l5) +
// (l6 + l7)) (cpu/vec_math.h's Dot), then times scale. Recomputed wherever a pass needs it: the
// same operations give the same bits, and nothing of size (keys) has to be kept.
__device__ float Score(const float* q, const KvView& kv, int64_t j, int64_t head_offset, int64_t D,
                       float scale) {
  const float* k =
      kv.k_blocks[j / kv.block_size] + (j % kv.block_size) * kv.row_stride + head_offset;
  float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t i0 = 0; i0 < D; i0 += 8) {
#pragma unroll
    for (int l = 0; l < 8; ++l) {
      if (i0 + l < D) lane[l] = fmaf(q[i0 + l], k[i0 + l], lane[l]);
    }
  }
  const float dot =
      ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
  return dot * scale;
}

// One block per (query t, head h), blockIdx.x = t·H + h. Three passes over the keys 0..n_keys-1,
// each thread taking keys tid, tid + 256, ...: the max of the scores, then Σ exp(s − max), both
// combined by BlockReduce; then, a tile of 256 keys at a time, the probabilities go to shared
// memory (and att) and thread d adds p_j·v_j[d] for the tile's keys in key order into out[d],
// which it alone owns.
__global__ void AttentionForwardKernel(float* out, float* att, const float* q, KvView kv,
                                       int64_t pos0, int64_t T, int64_t H, int64_t group, int64_t D,
                                       float scale) {
  extern __shared__ float q_row[];  // D floats.
  __shared__ float p_tile[kBlockThreads];
  const int64_t t = blockIdx.x / H;
  const int64_t h = blockIdx.x - t * H;
  const int64_t n_keys = pos0 + t + 1;
  const int64_t head_offset = (h / group) * D;
  const int64_t row = t * H + h;
  for (int64_t d = threadIdx.x; d < D; d += kBlockThreads) q_row[d] = q[row * D + d];
  __syncthreads();

  float m = -INFINITY;
  for (int64_t j = threadIdx.x; j < n_keys; j += kBlockThreads) {
    m = fmaxf(m, Score(q_row, kv, j, head_offset, D, scale));
  }
  m = BlockReduce(m, MaxOp());
  float sum = 0.0f;
  for (int64_t j = threadIdx.x; j < n_keys; j += kBlockThreads) {
    sum += expf(Score(q_row, kv, j, head_offset, D, scale) - m);
  }
  sum = BlockReduce(sum, SumOp());

  float* o = out + row * D;
  float* p_row = att != nullptr ? att + row * (pos0 + T) : nullptr;
  for (int64_t d = threadIdx.x; d < D; d += kBlockThreads) o[d] = 0.0f;
  for (int64_t j0 = 0; j0 < n_keys; j0 += kBlockThreads) {
    const int64_t j = j0 + threadIdx.x;
    if (j < n_keys) {
      const float p = expf(Score(q_row, kv, j, head_offset, D, scale) - m) / sum;
      p_tile[threadIdx.x] = p;
      if (p_row != nullptr) p_row[j] = p;
    }
    __syncthreads();
    const int64_t count = n_keys - j0 < kBlockThreads ? n_keys - j0 : kBlockThreads;
    for (int64_t d = threadIdx.x; d < D; d += kBlockThreads) {
      float acc = o[d];
      for (int64_t u = 0; u < count; ++u) {
        const int64_t key = j0 + u;
        const float* v =
            kv.v_blocks[key / kv.block_size] + (key % kv.block_size) * kv.row_stride + head_offset;
        acc = fmaf(p_tile[u], v[d], acc);
      }
      o[d] = acc;
    }
    __syncthreads();  // The next tile overwrites p_tile.
  }
  if (p_row != nullptr) {
    for (int64_t j = n_keys + threadIdx.x; j < pos0 + T; j += kBlockThreads) p_row[j] = 0.0f;
  }
}

// Launches one sequence's blocks without waiting; the caller checks.
bool LaunchAttention(float* out, float* att, const float* q, const KvView& kv, int64_t pos0,
                     int64_t T, int64_t H, int64_t KVH, int64_t D) {
  if (T * H > kMaxGridX) return false;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  AttentionForwardKernel<<<static_cast<unsigned>(T * H), kBlockThreads, D * sizeof(float)>>>(
      out, att, q, kv, pos0, T, H, H / KVH, D, scale);
  return true;
}

}  // namespace

bool attention_forward(float* out, float* att, const float* q, const KvView& kv, int64_t pos0,
                       int64_t T, int64_t H, int64_t KVH, int64_t D) {
  if (T <= 0 || H <= 0) return true;
  return LaunchAttention(out, att, q, kv, pos0, T, H, KVH, D) && LaunchSucceeded();
}

bool attention_forward_segments(float* out, const float* q, const AttentionSegment* segments,
                                int64_t num_segments, int64_t H, int64_t KVH, int64_t D) {
  bool launched = true;
  for (int64_t s = 0; s < num_segments && launched; ++s) {
    const AttentionSegment& seg = segments[s];
    if (seg.T <= 0 || H <= 0) continue;
    const int64_t offset = seg.row0 * H * D;
    launched =
        LaunchAttention(out + offset, nullptr, q + offset, seg.kv, seg.pos0, seg.T, H, KVH, D);
  }
  return LaunchSucceeded() && launched;  // Waits for what was launched even after a failure.
}

}  // namespace flywheel::kernels::cuda
