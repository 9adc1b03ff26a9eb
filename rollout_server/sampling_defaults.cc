#include "rollout_server/sampling_defaults.h"

#include <algorithm>

namespace flywheel::rollout {

// transformers' GenerationConfig default for top_k, used when sampling is on and the file names
// no top_k.
constexpr int32_t kTransformersTopK = 50;

SamplingDefaults MakeSamplingDefaults(const model::GenerationConfig* generation,
                                      const tokenizer::Tokenizer* tokenizer) {
  SamplingDefaults d;
  if (generation != nullptr) {
    const model::GenerationConfig& g = *generation;
    if (g.do_sample) {
      d.temperature = g.temperature.value_or(1.0f);
      d.top_p = g.top_p.value_or(1.0f);
      d.top_k = g.top_k.value_or(kTransformersTopK);
      d.min_p = g.min_p.value_or(0.0f);
    } else {
      d.temperature = 0.0f;
    }
    d.max_tokens = g.max_new_tokens.value_or(0);
    d.eos_token_ids = g.eos_token_ids;
  }
  if (tokenizer != nullptr && tokenizer->eos_id()) {
    const int32_t eos = *tokenizer->eos_id();
    if (std::find(d.eos_token_ids.begin(), d.eos_token_ids.end(), eos) == d.eos_token_ids.end()) {
      d.eos_token_ids.push_back(eos);
    }
  }
  return d;
}

}  // namespace flywheel::rollout
