// Fuzz target: the chunk stream of a weight push (PushWeights) into the rollout server's stager.
// Input: a sequence of WeightChunk messages, each a 2-byte little-endian length and that many
// bytes of serialized proto. A chunk with crc32c 0 gets its correct checksum, so the fuzzer also
// reaches what lies behind the check; any other value is checked as sent.
#include <cstdint>
#include <cstring>

#include "common/base/crc32c.h"
#include "common/model/config.h"
#include "common/model/parameters.h"
#include "flywheel/v1/rollout.pb.h"
#include "rollout_server/weight_stager.h"

namespace {

const flywheel::model::ParameterLayout& Layout() {
  static const flywheel::model::ParameterLayout* layout = [] {
    flywheel::model::ModelConfig c;
    c.vocab_size = 8;
    c.hidden_size = 4;
    c.num_layers = 1;
    c.num_heads = 2;
    c.num_kv_heads = 1;
    c.head_dim = 2;
    c.intermediate_size = 8;
    c.max_position_embeddings = 16;
    c.attention_bias = true;
    return new flywheel::model::ParameterLayout(c);
  }();
  return *layout;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  flywheel::rollout::WeightStager stager(Layout());
  size_t pos = 0;
  while (pos + 2 <= size) {
    const size_t len = data[pos] | (size_t{data[pos + 1]} << 8);
    pos += 2;
    if (len > size - pos) break;
    flywheel::v1::WeightChunk chunk;
    if (!chunk.ParseFromArray(data + pos, static_cast<int>(len))) break;
    pos += len;
    const uint32_t crc = chunk.crc32c() != 0
                             ? chunk.crc32c()
                             : flywheel::Crc32c(chunk.data().data(), chunk.data().size());
    if (!stager.Add(chunk.version(), chunk.tensor(), chunk.offset(), chunk.data(), crc).ok()) break;
  }
  auto params = stager.Finish();
  if (params.ok() && params->size() != static_cast<size_t>(Layout().num_params())) __builtin_trap();
  return 0;
}
