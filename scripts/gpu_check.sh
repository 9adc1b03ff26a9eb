#!/usr/bin/env bash
# Checks flywheel's GPU path. Builds the CUDA targets into the ordinary build dir (./build, or
# $FLYWHEEL_BUILD_DIR), then, when this machine has a GPU (nvidia-smi lists one), runs every
# CUDA test (ctest -R Cuda: each op against its CPU twin, bitwise batch invariance on the GPU) and
# prints `gpu_check: N CUDA tests passed on <device>`; a failed or skipped test fails the script.
# Without a GPU it says that nothing GPU-side was verified and exits 0, so CI can run it to keep
# the CUDA code compiling. FLYWHEEL_JOBS sets the build's parallelism (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${FLYWHEEL_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
# The CUDA targets exist only when CMake found nvcc (cmake/FlywheelOptions.cmake).
if ! ninja -C "$build" -t query kernels_cuda_test >/dev/null 2>&1; then
  echo "gpu_check: no CUDA compiler found (nvcc); the CUDA code was neither compiled nor run"
  exit 0
fi
cmake --build "$build" -j"${FLYWHEEL_JOBS:-2}" --target kernels_cuda_test

# nvidia-smi fails (and may print its complaint to stdout) when there is no driver or device.
device=""
if command -v nvidia-smi >/dev/null 2>&1 &&
  names=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null); then
  device=$(head -n 1 <<<"$names")
fi
if [ -z "$device" ]; then
  echo "gpu_check: no CUDA device on this machine; the CUDA code was compiled but not run" \
    "(nothing GPU-side verified)"
  exit 0
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
ctest --test-dir "$build" -R Cuda --no-tests=error --output-on-failure 2>&1 | tee "$log" ||
  status=$?
passed=$(grep -c 'Test *#[0-9]*:.* Passed' "$log" || true)
skipped=$(grep -c '\*\*\*Skipped' "$log" || true)
if [ "$status" -ne 0 ] || [ "$skipped" -ne 0 ]; then
  echo "gpu_check: FAILED on $device: $passed passed, $skipped skipped, ctest exit $status"
  exit 1
fi
echo "gpu_check: $passed CUDA tests passed on $device"
