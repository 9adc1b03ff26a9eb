// Fuzz target: a model's config.json text, as every daemon reads it before allocating weights.
// An accepted config must pass ValidateConfig and survive a round trip through ConfigToJson.
#include <cstdint>
#include <string>

#include "common/model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto config = flywheel::model::ParseConfigJson(text);
  if (!config.ok()) return 0;
  if (!flywheel::model::ValidateConfig(*config).ok()) __builtin_trap();
  auto again = flywheel::model::ParseConfigJson(flywheel::model::ConfigToJson(*config));
  if (!again.ok() || again->hidden_size != config->hidden_size) __builtin_trap();
  return 0;
}
