#include "tests/util/reference_script.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "tests/util/subprocess.h"

namespace flywheel::testing {

absl::StatusOr<nlohmann::json> RunReferenceScript(const std::string& script,
                                                  const nlohmann::json& input) {
  static int calls = 0;
  const std::string stem = absl::StrCat("/tmp/flywheel_ref_", getpid(), "_", calls++);
  const std::string in_path = stem + "_in.json", out_path = stem + "_out.json";
  std::ofstream(in_path) << input.dump();
  std::string log;
  const int rc = RunCommand(absl::StrCat(ReferencePython(), " ", SourceDir(), "/tests/reference/",
                                         script, " --inp ", in_path, " --out ", out_path),
                            &log);
  std::remove(in_path.c_str());
  if (rc != 0) {
    std::remove(out_path.c_str());
    return absl::InternalError(absl::StrCat(script, " exited with ", rc, ":\n", log,
                                            "\n(the reference needs Debian's python3-torch)"));
  }
  nlohmann::json out = nlohmann::json::parse(std::ifstream(out_path), nullptr, false);
  std::remove(out_path.c_str());
  if (out.is_discarded()) return absl::InternalError(absl::StrCat(script, " wrote bad JSON"));
  return out;
}

}  // namespace flywheel::testing
