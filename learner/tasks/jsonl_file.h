// Writing a built-in task's JSONL file atomically: the lines go to a temporary file beside the
// target, which is flushed, synced and renamed into place, so a reader never sees a half-written
// file. Stateless; safe from any thread (one writer per path).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace flywheel::learner {

// One line per entry (a newline is added). InternalError (with errno's text) on I/O failure; the
// temporary file is removed then.
absl::Status WriteLinesAtomic(const std::string& path, const std::vector<std::string>& lines);

}  // namespace flywheel::learner
