#include "rollout_server/sampling_defaults.h"

namespace flywheel::rollout {

// transformers' GenerationConfig default for top_k, used when sampling is on and the file names
// no top_k.
constexpr int32_t kTransformersTopK = 50;

SamplingDefaults MakeSamplingDefaults(const model::GenerationConfig* generation) {
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
  return d;
}

}  // namespace flywheel::rollout
