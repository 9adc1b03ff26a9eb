#!/usr/bin/env bash
# Configures and builds flywheel into ./build (Release). Extra arguments are ninja targets.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"${FLYWHEEL_JOBS:-2}" ${1:+--target "$@"}
