#!/usr/bin/env bash
# Builds the wasm engine and assembles the npm package in pkg/ (pkg-template/ + wasm-bindgen output).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

# Two builds of one source: SIMD128 for every browser, and SIMD128 + relaxed SIMD (fused
# multiply-add, ~12% faster) for those that validate it; index.js picks at run time.
# RUSTFLAGS replaces .cargo/config.toml's flags, so it repeats the getrandom backend.
cargo build --release --target wasm32-unknown-unknown -p webembed
RUSTFLAGS='-C target-feature=+simd128,+relaxed-simd --cfg getrandom_backend="wasm_js"' \
  cargo build --release --target wasm32-unknown-unknown -p webembed --target-dir "$CARGO_TARGET_DIR/relaxed"

rm -rf pkg.partial pkg.relaxed
wasm-bindgen --target web --out-dir pkg.partial --out-name webembed \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/webembed.wasm"
wasm-bindgen --target web --out-dir pkg.relaxed --out-name webembed \
  "$CARGO_TARGET_DIR/relaxed/wasm32-unknown-unknown/release/webembed.wasm"
# One glue file serves both binaries only if wasm-bindgen wrote the same glue for each.
cmp -s pkg.partial/webembed.js pkg.relaxed/webembed.js || { echo "glue differs between the two builds" >&2; exit 1; }
mv pkg.relaxed/webembed_bg.wasm pkg.partial/webembed_relaxed_bg.wasm
rm -rf pkg.relaxed
node scripts/glue-factory.mjs pkg.partial/webembed.js pkg.partial/webembed_glue.js
rm pkg.partial/webembed.js
cp pkg-template/* pkg.partial/
rm -f pkg.partial/webembed.d.ts pkg.partial/webembed_bg.wasm.d.ts  # the public types are index.d.ts
rm -rf pkg && mv pkg.partial pkg

for wasm in pkg/webembed_bg.wasm pkg/webembed_relaxed_bg.wasm; do
  raw=$(stat -c %s "$wasm")
  gz=$(gzip -9 -c "$wasm" | wc -c)
  awk -v f="$wasm" -v raw="$raw" -v gz="$gz" 'BEGIN { printf "%s: %.2f MB raw, %.2f MB gzipped (target <= 2 MB gzipped)\n", f, raw / 1e6, gz / 1e6 }'
done
