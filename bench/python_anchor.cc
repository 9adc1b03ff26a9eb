#include "bench/python_anchor.h"

#include <array>
#include <cstdio>

#include "nlohmann/json.hpp"

namespace flywheel::bench {

double PythonAnchor(const std::string& command, const std::string& key, std::string* blas_core) {
  if (blas_core != nullptr) *blas_core = "unknown";
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) {
    std::fprintf(stderr, "bench: cannot run %s\n", command.c_str());
    return 0;
  }
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  const std::string last =
      out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
  auto j = nlohmann::json::parse(last, nullptr, false);
  if (status != 0 || j.is_discarded() || !j.contains(key) || !j[key].is_number()) {
    std::fprintf(stderr, "bench: anchor failed (exit %d): %s\n%s\n", status, command.c_str(),
                 out.c_str());
    return 0;
  }
  if (blas_core != nullptr && j.contains("blas_core") && j["blas_core"].is_string()) {
    *blas_core = j["blas_core"].get<std::string>();
  }
  return j[key].get<double>();
}

}  // namespace flywheel::bench
