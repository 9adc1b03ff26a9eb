// What a Generate request gets for the sampling fields it leaves unset: flywheel's own defaults,
// or those of the checkpoint's generation_config.json, read the way transformers' generate reads
// them.
#pragma once

#include <cstdint>
#include <vector>

#include "common/model/generation_config.h"
#include "common/tokenizer/tokenizer.h"

namespace flywheel::rollout {

struct SamplingDefaults {
  float temperature = 1.0f;  // 0 = greedy
  float top_p = 1.0f;
  int32_t top_k = 0;  // 0 = off
  float min_p = 0.0f;
  int32_t max_tokens = 0;              // 0 = up to the context
  std::vector<int32_t> eos_token_ids;  // where generation stops unless ignore_eos
};

// From generation_config.json (absent: flywheel's defaults) and the tokenizer's eos token (may
// be null). As in transformers, a config without do_sample means greedy, and sampling without a
// top_k keeps the 50 most likely tokens.
SamplingDefaults MakeSamplingDefaults(const model::GenerationConfig* generation,
                                      const tokenizer::Tokenizer* tokenizer);

}  // namespace flywheel::rollout
