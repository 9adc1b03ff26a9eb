#include "common/tokenizer/fingerprint.h"

#include <cstdint>

#include "absl/strings/str_format.h"

namespace flywheel::tokenizer {
namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

void Fnv(uint64_t* h, const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    *h ^= p[i];
    *h *= kFnvPrime;
  }
}

void FnvU32(uint64_t* h, uint32_t v) {
  const unsigned char b[4] = {static_cast<unsigned char>(v), static_cast<unsigned char>(v >> 8),
                              static_cast<unsigned char>(v >> 16),
                              static_cast<unsigned char>(v >> 24)};
  Fnv(h, b, 4);
}

}  // namespace

std::string Fingerprint(const Tokenizer& tokenizer) {
  uint64_t h = kFnvOffset;
  for (int32_t id = 0; id < tokenizer.vocab_size(); ++id) {
    auto bytes = tokenizer.TokenBytes(id);
    FnvU32(&h, static_cast<uint32_t>(id));
    if (!bytes.ok()) {  // a hole in the id space
      FnvU32(&h, 0xffffffffu);
      continue;
    }
    FnvU32(&h, static_cast<uint32_t>(bytes->size()));
    Fnv(&h, bytes->data(), bytes->size());
    FnvU32(&h, tokenizer.IsSpecial(id) ? 1u : 0u);
  }
  return absl::StrFormat("%016x", h);
}

}  // namespace flywheel::tokenizer
