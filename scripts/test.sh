#!/usr/bin/env bash
# Installs the dependencies, builds everything and runs every test (what CI runs): the ordinary
# suite, then the sanitizer suites (ASan+UBSan, and TSan on the concurrent tests) and the fuzz
# targets for a bounded time each, every one in a build dir of its own. Each phase prints its
# time. FLYWHEEL_SKIP_SANITIZERS=1 or FLYWHEEL_SKIP_FUZZ=1 leave those phases out.
set -euo pipefail
cd "$(dirname "$0")/.."
phase() {
  local name=$1
  shift
  local t0=$SECONDS
  echo "=== test.sh: $name"
  "$@"
  echo "=== test.sh: $name took $((SECONDS - t0)) s"
}
phase deps bash scripts/install_deps.sh
phase build bash scripts/build.sh
if [ -f tests/tokenizer/install_js_reference.sh ]; then
  phase js-reference bash tests/tokenizer/install_js_reference.sh build
fi
phase tests ctest --test-dir build --output-on-failure -j2
# Keeps the CUDA code compiling; runs the CUDA tests only where a GPU is (see the script).
phase gpu-check bash scripts/gpu_check.sh
if [ "${FLYWHEEL_SKIP_SANITIZERS:-0}" != 1 ]; then
  phase asan-ubsan bash scripts/sanitize.sh asan
  phase tsan bash scripts/sanitize.sh tsan
fi
if [ "${FLYWHEEL_SKIP_FUZZ:-0}" != 1 ]; then
  phase fuzz bash scripts/fuzz.sh
fi
echo "=== test.sh: all passed in $SECONDS s"
