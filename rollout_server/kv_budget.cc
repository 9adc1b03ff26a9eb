#include "rollout_server/kv_budget.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace flywheel::rollout {

int64_t KvBlockBytes(const model::ModelConfig& c, int64_t block_size) {
  return 2 * c.num_layers * block_size * c.kv_dim() * static_cast<int64_t>(sizeof(float));
}

int64_t StepActivationBytes(const model::ModelConfig& c, int64_t tokens, int64_t max_running) {
  return StepActivationBytes(std::vector<model::ModelConfig>{c}, tokens, max_running);
}

int64_t StepActivationBytes(const std::vector<model::ModelConfig>& configs, int64_t tokens,
                            int64_t max_running) {
  int64_t rows = 0, logits = 0;
  for (const model::ModelConfig& c : configs) {
    // Per token row, what ForwardRows keeps without saving: two residual buffers and the mid
    // one, the norms' outputs, q/k/v (raw and normed), the fused QKV output, attention output,
    // gate|up and the SwiGLU output (Transformer::ForwardRows).
    const int64_t per_row =
        5 * c.hidden_size + 2 * c.qkv_dim() + c.q_dim() + 3 * c.intermediate_size + 2 * c.q_dim();
    rows = std::max(rows, tokens * per_row);
    logits += max_running * c.vocab_size;
  }
  return (rows + logits) * static_cast<int64_t>(sizeof(float));
}

absl::StatusOr<int64_t> MachineMemoryBytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  int64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit) {
    if (key == "MemTotal:") return kib * 1024;
  }
  return absl::UnavailableError("cannot read MemTotal from /proc/meminfo");
}

std::string FormatBytes(int64_t bytes) {
  const double b = static_cast<double>(bytes);
  if (b >= 1024.0 * 1024 * 1024) return absl::StrFormat("%.2f GiB", b / (1024.0 * 1024 * 1024));
  if (b >= 1024.0 * 1024) return absl::StrFormat("%.1f MiB", b / (1024.0 * 1024));
  return absl::StrFormat("%.1f KiB", b / 1024.0);
}

absl::StatusOr<int64_t> ParseByteSize(const std::string& text) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (...) {
    return absl::InvalidArgumentError(absl::StrCat("not a byte size: \"", text, "\""));
  }
  std::string suffix = text.substr(used);
  double scale = 1;
  if (suffix.size() == 1 || (suffix.size() == 3 && (suffix.substr(1) == "iB")) ||
      (suffix.size() == 2 && std::toupper(suffix[1]) == 'B')) {
    switch (std::toupper(suffix[0])) {
      case 'K':
        scale = 1024.0;
        break;
      case 'M':
        scale = 1024.0 * 1024;
        break;
      case 'G':
        scale = 1024.0 * 1024 * 1024;
        break;
      case 'T':
        scale = 1024.0 * 1024 * 1024 * 1024;
        break;
      default:
        suffix = "?";
    }
    if (suffix != "?") suffix.clear();
  }
  if (!suffix.empty() || !(value > 0) || value * scale > 9e18) {
    return absl::InvalidArgumentError(absl::StrCat(
        "not a byte size: \"", text, "\" (a positive number, optionally K, M, G or T)"));
  }
  return static_cast<int64_t>(value * scale);
}

absl::StatusOr<int64_t> MemoryBudgetFromFlags(const Flags& flags) {
  if (auto size = flags.Get("memory-budget")) {
    auto bytes = ParseByteSize(*size);
    if (!bytes.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("--memory-budget: ", bytes.status().message()));
    return *bytes;
  }
  auto fraction = flags.GetDouble("memory-fraction", 0.5);
  if (!fraction.ok()) return fraction.status();
  if (!(*fraction > 0 && *fraction <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--memory-fraction must be in (0, 1], got ", *fraction));
  }
  auto total = MachineMemoryBytes();
  if (!total.ok()) return total.status();
  return static_cast<int64_t>(*fraction * static_cast<double>(*total));
}

absl::StatusOr<KvPlan> PlanKvCache(const KvPlanInput& in) {
  KvPlan plan;
  const int64_t block_bytes = KvBlockBytes(in.config, in.block_size);
  std::vector<model::ModelConfig> configs = {in.config};
  configs.insert(configs.end(), in.more_configs.begin(), in.more_configs.end());
  plan.activation_bytes = StepActivationBytes(configs, in.max_tokens_per_step, in.max_running);
  const int64_t left = in.budget_bytes - in.weight_bytes - in.staging_bytes - plan.activation_bytes;
  const std::string sizes = absl::StrCat(
      configs.size() > 1 ? absl::StrCat("the weights of ", configs.size(), " models hold ")
                         : std::string("the weights hold "),
      FormatBytes(in.weight_bytes),
      in.staging_bytes > 0
          ? absl::StrCat(" (and ", FormatBytes(in.staging_bytes), " more during a push)")
          : "",
      ", one step's activations ", FormatBytes(plan.activation_bytes), ", a KV block of ",
      in.block_size, " tokens ", FormatBytes(block_bytes));
  if (left < 2 * block_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the model does not fit the memory budget of ", FormatBytes(in.budget_bytes), ": ", sizes,
        ". Raise --memory-budget or --memory-fraction, or lower --max-tokens-per-step"));
  }
  const int64_t fit = left / block_bytes;
  // More blocks than max_running sequences of the whole context can ever hold would never be used.
  int64_t context = 0;
  for (const model::ModelConfig& c : configs) {
    context = std::max(context, c.max_position_embeddings);
  }
  const int64_t per_seq = (context + in.block_size - 1) / in.block_size + 1;
  const int64_t useful = in.max_running * per_seq;
  if (in.requested_blocks > 0) {
    if (in.requested_blocks > fit) {
      return absl::ResourceExhaustedError(
          absl::StrCat("--kv-blocks ", in.requested_blocks, " needs ",
                       FormatBytes(in.requested_blocks * block_bytes), " but the memory budget of ",
                       FormatBytes(in.budget_bytes), " leaves ", FormatBytes(left),
                       " for the cache (", sizes, ")"));
    }
    plan.blocks = in.requested_blocks;
  } else {
    plan.blocks = std::min(fit, useful);
  }
  plan.kv_bytes = plan.blocks * block_bytes;
  plan.summary = absl::StrCat(
      "KV cache: ", plan.blocks, " blocks of ", in.block_size, " tokens (",
      FormatBytes(plan.kv_bytes), ", ", plan.blocks * in.block_size, " tokens); ",
      in.requested_blocks > 0 ? "as --kv-blocks asked"
      : plan.blocks == useful
          ? absl::StrCat("all that ", in.max_running, " sequences of the full context can use")
          : "all the budget leaves",
      "; budget ", FormatBytes(in.budget_bytes), ": ", sizes);
  return plan;
}

}  // namespace flywheel::rollout
