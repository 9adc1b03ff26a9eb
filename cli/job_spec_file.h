// Reading a job spec (flywheel.v1.JobSpec) from the YAML or JSON file a user hands to
// `flywheel submit`. YAML is converted to JSON guided by the proto schema (so `name: 123` stays a
// string and `steps: "40"` is still a number), then parsed with protobuf's JSON parser; field names
// are the proto's (snake_case; the lowerCamel JSON names are accepted too). Paths in the spec that
// are relative are taken relative to the file's directory, so a spec can sit beside its data.
// Stateless functions; safe from any thread.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "flywheel/v1/learner.pb.h"

namespace flywheel::cli {

enum class SpecFormat { kYaml, kJson };

// kJson for a ".json" name, kYaml for ".yaml"/".yml"; otherwise kJson when the text starts with
// '{' and kYaml when it does not.
SpecFormat GuessSpecFormat(const std::string& path, std::string_view text);

// Parses `text` into a JobSpec. `source` names the text in messages ("job.yaml"); YAML errors carry
// its line number: "job.yaml:7: sampling.temperature: expected a number, got \"hot\"". Unknown
// fields, values of the wrong type and malformed YAML/JSON are InvalidArgument. Paths are left as
// they are (see ResolveSpecPaths).
absl::StatusOr<v1::JobSpec> ParseJobSpec(std::string_view text, SpecFormat format,
                                         const std::string& source);

// Makes policy_model_dir, reference_model_dir, dataset, eval_dataset, checkpoint_dir and
// sample_dump_dir absolute:
// a relative one is joined to `base_dir` (itself made absolute against the working directory) and
// normalised. Empty fields stay empty.
void ResolveSpecPaths(const std::filesystem::path& base_dir, v1::JobSpec* spec);

// Reads `path`, parses it (format from GuessSpecFormat) and resolves its paths against the file's
// directory. NotFound when it cannot be read.
absl::StatusOr<v1::JobSpec> ReadJobSpecFile(const std::string& path);

}  // namespace flywheel::cli
