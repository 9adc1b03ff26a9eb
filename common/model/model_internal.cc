#include "common/model/model_internal.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace flywheel::model::internal {

void FlattenBatch(const std::vector<std::vector<int32_t>>& seqs, int64_t num_heads,
                  Activations* a) {
  a->tokens.clear();
  a->targets.clear();
  a->positions.clear();
  a->seq_start.assign(1, 0);
  a->att_start.assign(1, 0);
  for (const auto& seq : seqs) {
    const int64_t T = static_cast<int64_t>(seq.size());
    for (int64_t t = 0; t < T; ++t) {
      a->tokens.push_back(seq[t]);
      a->targets.push_back(t + 1 < T ? seq[t + 1] : 0);
      a->positions.push_back(static_cast<int32_t>(t));
    }
    a->seq_start.push_back(static_cast<int64_t>(a->tokens.size()));
    a->att_start.push_back(a->att_start.back() + T * num_heads * T);
  }
}

void SplitQkv(float* q, float* k, float* v, const float* qkv, int64_t N, int64_t HD, int64_t KVD) {
  const int64_t QKV = HD + 2 * KVD;
  for (int64_t n = 0; n < N; ++n) {
    const float* row = qkv + n * QKV;
    std::memcpy(q + n * HD, row, HD * sizeof(float));
    std::memcpy(k + n * KVD, row + HD, KVD * sizeof(float));
    std::memcpy(v + n * KVD, row + HD + KVD, KVD * sizeof(float));
  }
}

void MergeQkv(float* qkv, const float* q, const float* k, const float* v, int64_t N, int64_t HD,
              int64_t KVD) {
  const int64_t QKV = HD + 2 * KVD;
  for (int64_t n = 0; n < N; ++n) {
    float* row = qkv + n * QKV;
    std::memcpy(row, q + n * HD, HD * sizeof(float));
    std::memcpy(row + HD, k + n * KVD, KVD * sizeof(float));
    std::memcpy(row + HD + KVD, v + n * KVD, KVD * sizeof(float));
  }
}

}  // namespace flywheel::model::internal
