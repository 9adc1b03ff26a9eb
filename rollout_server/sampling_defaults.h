// What a Generate request gets for the sampling fields it leaves unset: flywheel's own defaults,
// or those of the checkpoint's generation_config.json, read the way transformers' generate reads
// them.
#pragma once

#include <cstdint>
#include <vector>

#include "common/model/generation_config.h"

namespace flywheel::rollout {

struct SamplingDefaults {
  float temperature = 1.0f;  // 0 = greedy
  float top_p = 1.0f;
  int32_t top_k = 0;  // 0 = off
  float min_p = 0.0f;
  int32_t max_tokens = 0;  // 0 = up to the context
  // Where generation stops unless ignore_eos; RolloutService adds the tokenizer's eos token.
  std::vector<int32_t> eos_token_ids;
};

// From generation_config.json (null: flywheel's defaults). As in transformers, a config without
// do_sample means greedy, and sampling without a top_k keeps the 50 most likely tokens.
SamplingDefaults MakeSamplingDefaults(const model::GenerationConfig* generation);

}  // namespace flywheel::rollout
