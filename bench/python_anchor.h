// Runs a Python anchor script that prints one JSON object and returns one of its numbers.
#pragma once

#include <string>

namespace flywheel::bench {

// Runs `command`, parses the last stdout line as JSON and returns field `key`; on any failure
// prints why to stderr and returns 0 (the result then shows ratio 0 rather than a made-up one).
// With blas_core non-null, also returns the object's "blas_core" field (the OpenBLAS kernels the
// script ran, bench/blas_info.py), or "unknown".
double PythonAnchor(const std::string& command, const std::string& key,
                    std::string* blas_core = nullptr);

}  // namespace flywheel::bench
