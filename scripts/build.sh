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

# A third build, with wasm atomics and shared memory, runs rayon threads on cross-origin isolated
# pages and in Node (pkg-template/thread-pool.js). std itself must be rebuilt with atomics, which
# only a nightly can do (-Z build-std): the pinned $WEBEMBED_NIGHTLY. The linker flags give the
# shared memory its 4 GiB maximum and export the thread-local storage symbols wasm-bindgen needs.
RUSTFLAGS='-C target-feature=+atomics,+bulk-memory,+simd128,+relaxed-simd -C link-arg=--shared-memory -C link-arg=--max-memory=4294967296 -C link-arg=--import-memory -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base --cfg getrandom_backend="wasm_js"' \
  cargo "+$WEBEMBED_NIGHTLY" build --release --target wasm32-unknown-unknown -p webembed --target-dir "$CARGO_TARGET_DIR/threads" -Z build-std=panic_abort,std

rm -rf pkg.partial pkg.relaxed pkg.threads
wasm-bindgen --target web --out-dir pkg.partial --out-name webembed \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/webembed.wasm"
wasm-bindgen --target web --out-dir pkg.relaxed --out-name webembed \
  "$CARGO_TARGET_DIR/relaxed/wasm32-unknown-unknown/release/webembed.wasm"
# One glue file serves both binaries only if wasm-bindgen wrote the same glue for each.
cmp -s pkg.partial/webembed.js pkg.relaxed/webembed.js || { echo "glue differs between the two builds" >&2; exit 1; }
mv pkg.relaxed/webembed_bg.wasm pkg.partial/webembed_relaxed_bg.wasm
rm -rf pkg.relaxed
wasm-bindgen --target web --out-dir pkg.threads --out-name webembed \
  "$CARGO_TARGET_DIR/threads/wasm32-unknown-unknown/release/webembed.wasm"
mv pkg.threads/webembed_bg.wasm pkg.partial/webembed_threads_bg.wasm
node scripts/glue-factory.mjs pkg.partial/webembed.js pkg.partial/webembed_glue.js
node scripts/glue-factory.mjs pkg.threads/webembed.js pkg.partial/webembed_threads_glue.js
rm -rf pkg.partial/webembed.js pkg.threads
# The threaded glue must offer what the plain one does, plus the thread pool's entry points.
node scripts/check-threads-glue.mjs pkg.partial/webembed_glue.js pkg.partial/webembed_threads_glue.js
cp pkg-template/* pkg.partial/
rm -f pkg.partial/webembed.d.ts pkg.partial/webembed_bg.wasm.d.ts  # the public types are index.d.ts
rm -rf pkg && mv pkg.partial pkg

for wasm in pkg/webembed_bg.wasm pkg/webembed_relaxed_bg.wasm pkg/webembed_threads_bg.wasm; do
  raw=$(stat -c %s "$wasm")
  gz=$(gzip -9 -c "$wasm" | wc -c)
  awk -v f="$wasm" -v raw="$raw" -v gz="$gz" 'BEGIN { printf "%s: %.2f MB raw, %.2f MB gzipped (target <= 2 MB gzipped)\n", f, raw / 1e6, gz / 1e6 }'
done
