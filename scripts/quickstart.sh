#!/usr/bin/env bash
# The main job, for now: installs, builds, creates a tiny model, prints the logprobs it gives a
# few token sequences (the full-sequence forward), and runs the kernel benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh flywheel flywheel-bench
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
./build/cli/flywheel init-model --preset tiny --out "$out/tiny" --seed 1
echo "logprobs of two completions under the tiny model:"
printf '%s\n' '{"prompt": [1, 2, 3], "completion": [4, 5, 6]}' \
              '{"prompt": [72, 105, 33], "completion": [32, 257, 258]}' |
  ./build/cli/flywheel logprobs --model "$out/tiny"
./build/bench/flywheel-bench gemm train
