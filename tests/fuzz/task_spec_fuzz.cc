// Fuzz target: reward task specs (the "task" of a dataset row or a ScoreRewards item), parsed and
// then used to score a completion taken from the same input. Input: the spec JSON, then
// optionally "\n\x01\n" and the completion text.
#include <cstdint>
#include <string_view>

#include "reward/score.h"
#include "reward/task_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view completion = "The answer is \\boxed{42}.";
  if (size_t p = in.find("\n\x01\n"); p != std::string_view::npos) {
    completion = in.substr(p + 3);
    in = in.substr(0, p);
  }
  auto spec = flywheel::reward::ParseTaskSpecText(in);
  if (!spec.ok()) return 0;
  flywheel::reward::ScoreInput item;
  item.prompt = "What is 6 x 7?";
  item.completion = completion;
  (void)flywheel::reward::ScoreItem(*spec, item, {});
  return 0;
}
