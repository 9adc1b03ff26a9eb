// How many KV-cache blocks a rollout server allocates: from a memory budget, not a fixed count.
//
// A fixed default (once 4,096 blocks of 16 tokens) is ~15 GB of keys and values for Qwen3-0.6B's
// shape and a few MB for a 1M-parameter demo model: right for neither. As vLLM does with its
// memory fraction, the server takes a budget (a fraction of the machine's memory by default),
// subtracts what the weights and one step's activations hold, and gives the rest to the cache,
// capped at what max_running sequences of the whole context could ever use. When the weights
// alone do not fit the budget, it refuses to start and says by how much.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/base/flags.h"
#include "common/model/config.h"

namespace flywheel::rollout {

// Bytes of one KV block: keys and values of block_size tokens in every layer (float32).
int64_t KvBlockBytes(const model::ModelConfig& config, int64_t block_size);

// Activation bytes of one engine step of `tokens` token rows (the largest buffers of the forward,
// plus the logits of up to max_running rows).
int64_t StepActivationBytes(const model::ModelConfig& config, int64_t tokens, int64_t max_running);
// The same for an engine serving several models: their forwards share one set of row buffers
// (the largest model's size) and each keeps its own logits.
int64_t StepActivationBytes(const std::vector<model::ModelConfig>& configs, int64_t tokens,
                            int64_t max_running);

// This machine's physical memory (MemTotal in /proc/meminfo); Unavailable if unreadable.
absl::StatusOr<int64_t> MachineMemoryBytes();

struct KvPlanInput {
  model::ModelConfig config;  // the served model (the first, when there are several)
  // The other models a server with several --model serves: they share the KV cache (same row
  // shape as `config`) and one step's activation buffers.
  std::vector<model::ModelConfig> more_configs;
  // What the loaded models hold together (the sum of their Transformer::WeightBytes).
  int64_t weight_bytes = 0;
  // What weight pushes hold beside the serving weights: per model, the next version and its
  // packed copy while it is staged (and the replaced weights' buffer kept for the push after);
  // summed over the models, since each may be pushed to at the same time.
  int64_t staging_bytes = 0;
  int64_t budget_bytes = 0;  // weights + activations + KV cache may use this much
  int64_t block_size = 16;
  int64_t max_tokens_per_step = 2048;
  int64_t max_running = 256;
  int64_t requested_blocks = 0;  // > 0: --kv-blocks given; checked against the budget
};

struct KvPlan {
  int64_t blocks = 0;
  int64_t kv_bytes = 0;
  int64_t activation_bytes = 0;
  std::string summary;  // one line for the log: what was chosen and why
};

// The cache size for `in`. ResourceExhausted, naming the sizes and the flags that change them,
// when the weights and one step's activations leave no room for even one sequence of one block,
// or when requested_blocks does not fit.
absl::StatusOr<KvPlan> PlanKvCache(const KvPlanInput& in);

// The budget the daemon's flags give: --memory-budget SIZE, else --memory-fraction F (default
// 0.5, in (0, 1]) of MachineMemoryBytes(). InvalidArgument naming the flag for a bad value.
absl::StatusOr<int64_t> MemoryBudgetFromFlags(const Flags& flags);

// Parses a byte count with an optional K/M/G/T suffix (powers of 1024): "8G", "512M", "1073741824".
absl::StatusOr<int64_t> ParseByteSize(const std::string& text);

// "1.23 GiB"-style text for logs and errors.
std::string FormatBytes(int64_t bytes);

}  // namespace flywheel::rollout
