// Fuzz target: the math verifier's expression parser, and the whole verification (extraction,
// normalisation, exact comparison) of a completion against a gold answer. Input: the gold answer,
// then optionally "\n\x01\n" and the completion.
#include <cstdint>
#include <string_view>

#include "reward/math_expr.h"
#include "reward/math_verifier.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view gold(reinterpret_cast<const char*>(data), size);
  std::string_view completion = gold;
  if (size_t p = gold.find("\n\x01\n"); p != std::string_view::npos) {
    completion = gold.substr(p + 3);
    gold = gold.substr(0, p);
  }
  (void)flywheel::reward::ParseAnswer(gold);
  (void)flywheel::reward::ParseAnswer(completion);
  auto prepared = flywheel::reward::PrepareMathGold(gold, {});
  if (prepared.ok()) (void)flywheel::reward::VerifyMath(*prepared, completion);
  return 0;
}
