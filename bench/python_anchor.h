// Runs a Python anchor script that prints one JSON object and returns one of its numbers.
#pragma once

#include <string>

namespace flywheel::bench {

// Runs `command`, parses the last stdout line as JSON and returns field `key`; on any failure
// prints why to stderr and returns 0 (the result then shows ratio 0 rather than a made-up one).
double PythonAnchor(const std::string& command, const std::string& key);

}  // namespace flywheel::bench
