// Fuzz target: job specs as `flywheel submit` reads them, YAML and JSON. The first byte picks the
// format; the rest is the spec text. An accepted spec must serialise and parse back.
#include <cstdint>
#include <string>

#include "cli/job_spec_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto format =
      (data[0] & 1) ? flywheel::cli::SpecFormat::kJson : flywheel::cli::SpecFormat::kYaml;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto spec = flywheel::cli::ParseJobSpec(text, format, "fuzz.spec");
  if (!spec.ok()) return 0;
  flywheel::v1::JobSpec again;
  if (!again.ParseFromString(spec->SerializeAsString())) __builtin_trap();
  return 0;
}
