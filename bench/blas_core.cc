#include "bench/blas_core.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"

extern "C" char* openblas_get_corename(void);

namespace flywheel::bench {
namespace {

// Set by ReexecWithBestOpenBlasCore in the environment of the re-executed process, so that it
// knows the core type was bench's choice rather than the user's.
constexpr char kChoiceVar[] = "FLYWHEEL_BENCH_OPENBLAS_CHOICE";

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::string BestOpenBlasCoreType() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("avx512cd");
  // Cooperlake is SkylakeX plus BF16 kernels (sbgemm); its sgemm is SkylakeX's.
  if (avx512 && __builtin_cpu_supports("avx512bf16")) return "Cooperlake";
  if (avx512) return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    return __builtin_cpu_is("amd") ? "Zen" : "Haswell";
  }
#endif
  return "";
}

void ReexecWithBestOpenBlasCore(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;
  const std::string core = BestOpenBlasCoreType();
  if (core.empty()) return;
  setenv("OPENBLAS_CORETYPE", core.c_str(), 1);
  setenv(kChoiceVar, core.c_str(), 1);
  // The resolved path rather than /proc/self/exe, so that the process keeps its name ("exe"
  // otherwise) in ps, top and perf.
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    self[n] = '\0';
    execv(self, argv);
  }
  // execv only returns on failure: carry on with the library's own choice, and say so.
  std::perror("flywheel-bench: re-exec with OPENBLAS_CORETYPE failed");
}

std::string OpenBlasCoreName() { return Lower(openblas_get_corename()); }

std::string DescribeOpenBlasCore() {
  const char* asked = std::getenv("OPENBLAS_CORETYPE");
  const char* chosen = std::getenv(kChoiceVar);
  const std::string ran = OpenBlasCoreName();
  std::string line = absl::StrCat("OpenBLAS runs the ", ran, " kernels");
  if (asked == nullptr) {
    absl::StrAppend(&line, " (its own detection; no better core type known for this CPU)");
  } else {
    absl::StrAppend(&line, " (OPENBLAS_CORETYPE=", asked,
                    chosen != nullptr ? ", chosen from the CPU's features" : ", set by the user",
                    ")");
    if (Lower(asked) != ran) {
      absl::StrAppend(&line, "; WARNING: the library did not take the requested core type");
    }
  }
  return line;
}

}  // namespace flywheel::bench
