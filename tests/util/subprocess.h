// Running scripts from tests: shell commands, the reference interpreter, the repository root.
#pragma once

#include <string>

namespace flywheel::testing {

// Runs a shell command; returns its exit status and appends its stdout+stderr to *output.
int RunCommand(const std::string& command, std::string* output);

// The interpreter with torch (Debian's /usr/bin/python3, not the first python3 on PATH);
// $FLYWHEEL_REFERENCE_PYTHON overrides it.
std::string ReferencePython();

// Repository root, for tests/reference scripts.
std::string SourceDir();

}  // namespace flywheel::testing
