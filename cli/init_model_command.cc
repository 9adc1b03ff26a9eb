// flywheel init-model --preset tiny|small|qwen3-0.6b --out DIR [--seed N]
// Writes a randomly initialised model directory (config.json + model.safetensors) that every
// flywheel daemon and `transformers` can load, with flywheel's byte-level tokenizer
// (tokenizer.json + tokenizer_config.json, ChatML template) so text prompts work too.
#include <cstdio>
#include <filesystem>

#include "cli/command.h"
#include "cli/model_init.h"
#include "common/base/flags.h"
#include "common/model/checkpoint.h"

namespace flywheel::cli {
namespace {

constexpr char kUsage[] =
    "usage: flywheel init-model --preset tiny|small|qwen3-0.6b --out DIR [--seed N]\n"
    "  --preset  tiny: ~1M parameters, vocab 320 (byte-level tokenizer);\n"
    "            small: the 4M-parameter benchmark model (hidden 256, 4 layers, vocab 2048);\n"
    "            qwen3-0.6b: Qwen3-0.6B's architecture and vocabulary size (2.4 GB)\n"
    "  --out     directory to write (created if missing)\n"
    "  --seed    initialisation seed (default 0)\n";

int InitModel(const std::vector<std::string>& args) {
  int exit_code = 0;
  auto flags = Flags::ParseOrUsage("flywheel init-model", args, {"preset", "out", "seed"}, {},
                                   {"preset", "out"}, kUsage, &exit_code);
  if (!flags) return exit_code;
  auto seed = flags->GetInt("seed", 0);
  auto config = model::PresetConfig(*flags->Get("preset"));
  if (!seed.ok() || !config.ok()) {
    std::fprintf(stderr, "flywheel init-model: %s\n",
                 std::string((!seed.ok() ? seed.status() : config.status()).message()).c_str());
    return 2;
  }
  const std::string out = *flags->Get("out");
  auto num_params = WriteRandomModelDir(*flags->Get("preset"), static_cast<uint64_t>(*seed), out);
  if (!num_params.ok()) {
    std::fprintf(stderr, "flywheel init-model: %s\n",
                 std::string(num_params.status().message()).c_str());
    return 1;
  }
  std::printf("wrote %s: %s preset, %lld parameters, seed %lld\n", out.c_str(),
              flags->Get("preset")->c_str(), static_cast<long long>(*num_params),
              static_cast<long long>(*seed));
  return 0;
}

}  // namespace

FW_REGISTER_COMMAND("init-model", "write a randomly initialised model directory", InitModel);

}  // namespace flywheel::cli
