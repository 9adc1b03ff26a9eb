// Writes floats so that they read back to the same bits: %.9g is enough for any float.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace flywheel::cli {

// Appends a JSON array of floats; non-finite values (which JSON cannot hold) become null.
inline void AppendFloatArray(std::string* out, const std::vector<float>& values) {
  out->push_back('[');
  char buf[32];
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out->push_back(',');
    if (std::isfinite(values[i])) {
      std::snprintf(buf, sizeof(buf), "%.9g", static_cast<double>(values[i]));
      out->append(buf);
    } else {
      out->append("null");
    }
  }
  out->push_back(']');
}

}  // namespace flywheel::cli
