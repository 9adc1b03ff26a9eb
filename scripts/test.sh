#!/usr/bin/env bash
# Installs the dependencies, builds everything and runs every test (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh
if [ -f tests/tokenizer/install_js_reference.sh ]; then
  bash tests/tokenizer/install_js_reference.sh build
fi
ctest --test-dir build --output-on-failure -j2
