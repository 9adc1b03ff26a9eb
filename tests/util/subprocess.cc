#include "tests/util/subprocess.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>

namespace flywheel::testing {

int RunCommand(const std::string& command, std::string* output) {
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) output->append(buf.data(), n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ReferencePython() {
  const char* env = std::getenv("FLYWHEEL_REFERENCE_PYTHON");
  return env ? env : "/usr/bin/python3";
}

std::string SourceDir() { return FLYWHEEL_SOURCE_DIR; }

}  // namespace flywheel::testing
