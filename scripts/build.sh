#!/usr/bin/env bash
# Builds the wasm engine and assembles the npm package in pkg/ (pkg-template/ + wasm-bindgen output).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

cargo build --release --target wasm32-unknown-unknown -p webembed
rm -rf pkg.partial
wasm-bindgen --target web --out-dir pkg.partial --out-name webembed \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/webembed.wasm"
cp pkg-template/* pkg.partial/
rm -f pkg.partial/webembed.d.ts pkg.partial/webembed_bg.wasm.d.ts  # the public types are index.d.ts
rm -rf pkg && mv pkg.partial pkg

raw=$(stat -c %s pkg/webembed_bg.wasm)
gz=$(gzip -9 -c pkg/webembed_bg.wasm | wc -c)
awk -v raw="$raw" -v gz="$gz" 'BEGIN { printf "pkg/webembed_bg.wasm: %.2f MB raw, %.2f MB gzipped (target <= 2 MB gzipped)\n", raw / 1e6, gz / 1e6 }'
