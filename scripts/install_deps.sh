#!/usr/bin/env bash
# Installs everything flywheel needs on Debian 12, from Debian's own archive only.
# Safe to run again: apt-get skips what is already there.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  libabsl-dev libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  prometheus-cpp-dev prometheus
  libgtest-dev libgmock-dev nlohmann-json3-dev libpcre2-dev libutf8proc-dev libsqlite3-dev libyaml-cpp-dev
  libopenblas-dev
  python3-torch python3-numpy python3-jinja2
  openssl                      # test certificates for the TLS tests
  clang libclang-rt-14-dev     # libFuzzer and clang's sanitizer runtimes (scripts/fuzz.sh)
  # Tests only: headless Chromium draws the Prometheus console (tests/learner_daemon/dashboard_test).
  chromium
)
# tests/deploy/k8s_test renders deploy/k8s with `kubectl kustomize`. kubectl is not in Debian's
# archive; the machines come with it.
command -v kubectl >/dev/null 2>&1 || echo "install_deps: kubectl not found: the k8s manifest test will fail" >&2
# Node.js and npm run the tokenizer's JavaScript reference. Images often ship a Node.js that
# bundles its own npm (and conflicts with Debian's npm package), so look for the commands.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all ${#packages[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install_deps: installing ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
