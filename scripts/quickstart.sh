#!/usr/bin/env bash
# The main job: installs, builds the CLI and the three daemons, and runs `flywheel demo`: a tiny
# model learns arithmetic on this machine (SFT warm start, then GRPO on a local cluster of
# rollout server, reward server and learner). Extra arguments go to the demo (e.g. --quick).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh flywheel flywheel-rollout flywheel-reward flywheel-learner
./build/cli/flywheel demo --out "${FLYWHEEL_DEMO_DIR:-flywheel-demo}" "$@"
