// How much slower than usual this test run is allowed to be: $FLYWHEEL_TEST_TIME_SCALE (default 1).
// The sanitizer runs set it (scripts/sanitize.sh: ThreadSanitizer makes the daemons several times
// slower), and tests multiply the time limits they give daemons by it, never their assertions
// about what must happen.
#pragma once

#include <cstdlib>

namespace flywheel::testing {

inline double TimeScale() {
  const char* env = std::getenv("FLYWHEEL_TEST_TIME_SCALE");
  const double scale = env != nullptr ? std::atof(env) : 1.0;
  return scale >= 1.0 ? scale : 1.0;
}

}  // namespace flywheel::testing
