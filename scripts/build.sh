#!/usr/bin/env bash
# Builds the wasm engine and assembles the npm package in pkg/ (pkg-template/ + wasm-bindgen output).
#   bash scripts/build.sh                  every binary: simd128, relaxed, threads
#   bash scripts/build.sh relaxed          only those named; pkg/ keeps the others it already has
# (scripts/demo.sh builds `relaxed` first, the binary a page picks in current browsers, and the
# rest after the demo is served.)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

flavours=("$@")
[ ${#flavours[@]} -gt 0 ] || flavours=(simd128 relaxed threads)
wants() { [[ " ${flavours[*]} " == *" $1 "* ]]; }
for flavour in "${flavours[@]}"; do
  case "$flavour" in simd128 | relaxed | threads) ;; *) echo "build.sh: unknown binary $flavour (simd128, relaxed, threads)" >&2; exit 2 ;; esac
done

# Two builds of one source: SIMD128 for every browser, and SIMD128 + relaxed SIMD (fused
# multiply-add, ~12% faster) for those that validate it; index.js picks at run time.
# RUSTFLAGS replaces .cargo/config.toml's flags, so it repeats the getrandom backend.
build_simd128() {
  cargo build --release --target wasm32-unknown-unknown -p webembed
  echo "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/webembed.wasm"
}
build_relaxed() {
  RUSTFLAGS='-C target-feature=+simd128,+relaxed-simd --cfg getrandom_backend="wasm_js"' \
    cargo build --release --target wasm32-unknown-unknown -p webembed --target-dir "$CARGO_TARGET_DIR/relaxed"
  echo "$CARGO_TARGET_DIR/relaxed/wasm32-unknown-unknown/release/webembed.wasm"
}
# A third build, with wasm atomics and shared memory, runs rayon threads on cross-origin isolated
# pages and in Node (pkg-template/engine/thread-pool.js). std itself must be rebuilt with atomics, which
# only a nightly can do (-Z build-std): the pinned $WEBEMBED_NIGHTLY. The linker flags give the
# shared memory its 4 GiB maximum and export the thread-local storage symbols wasm-bindgen needs.
build_threads() {
  RUSTFLAGS='-C target-feature=+atomics,+bulk-memory,+simd128,+relaxed-simd -C link-arg=--shared-memory -C link-arg=--max-memory=4294967296 -C link-arg=--import-memory -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base --cfg getrandom_backend="wasm_js"' \
    cargo "+$WEBEMBED_NIGHTLY" build --release --target wasm32-unknown-unknown -p webembed --target-dir "$CARGO_TARGET_DIR/threads" -Z build-std=panic_abort,std
  echo "$CARGO_TARGET_DIR/threads/wasm32-unknown-unknown/release/webembed.wasm"
}
declare -A out_name=([simd128]=webembed_bg.wasm [relaxed]=webembed_relaxed_bg.wasm [threads]=webembed_threads_bg.wasm)

rm -rf pkg.partial
mkdir -p pkg.partial
# What pkg/ already holds of the binaries not rebuilt now stays (with its glue).
if [ -d pkg ]; then
  for flavour in simd128 relaxed threads; do
    wants "$flavour" || [ ! -f "pkg/${out_name[$flavour]}" ] || cp "pkg/${out_name[$flavour]}" pkg.partial/
  done
  if ! wants threads && [ -f pkg/webembed_threads_bg.wasm ]; then cp pkg/webembed_threads_glue.js pkg.partial/; fi
  if ! wants simd128 && ! wants relaxed && [ -f pkg/webembed_glue.js ]; then cp pkg/webembed_glue.js pkg.partial/; fi
fi

# A binary is relinked only when what it is made from changed: a fresh clone has new file times,
# so cargo would relink all three (fat LTO: ~150 s) although nothing in them changed. The
# wasm-bindgen output is kept per hash of the crate's sources, the manifests, the lock file, this
# script (the flags) and the toolchains' versions, and reused when the hash matches.
wasm_cache="$(dirname "$CARGO_TARGET_DIR")/wasm-cache"
inputs_hash() {
  {
    echo "$1 ${RUSTFLAGS:-}"
    rustc -V
    [ "$1" != threads ] || cargo "+$WEBEMBED_NIGHTLY" -V
    wasm-bindgen --version
    cat scripts/build.sh Cargo.toml Cargo.lock .cargo/config.toml crate/Cargo.toml
    find crate/src -type f -print0 | sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-32
}
declare -A glue=()
for flavour in simd128 relaxed threads; do
  wants "$flavour" || continue
  cached="$wasm_cache/$flavour-$(inputs_hash "$flavour")"
  if [ -f "$cached/webembed_bg.wasm" ] && [ -f "$cached/webembed.js" ]; then
    echo "$flavour: its sources are unchanged since the build in $cached: reused"
  else
    wasm=$("build_$flavour" | tail -n 1)
    rm -rf "$cached.partial"
    wasm-bindgen --target web --out-dir "$cached.partial" --out-name webembed "$wasm"
    # Whole or not at all: a killed build leaves only the .partial folder, never a half entry.
    rm -rf "$cached" && mv "$cached.partial" "$cached"
    # The newest few entries per binary are kept.
    ls -dt "$wasm_cache/$flavour-"* 2>/dev/null | grep -v '\.partial$' | tail -n +4 | xargs -r rm -rf
  fi
  glue[$flavour]="$cached/webembed.js"
  cp "$cached/webembed_bg.wasm" "pkg.partial/${out_name[$flavour]}"
done
# One glue file serves both plain binaries only if wasm-bindgen wrote the same glue for each.
if wants simd128 && wants relaxed; then
  cmp -s "${glue[simd128]}" "${glue[relaxed]}" || { echo "glue differs between the two builds" >&2; exit 1; }
fi
for flavour in simd128 relaxed; do
  if wants "$flavour"; then
    node scripts/glue-factory.mjs "${glue[$flavour]}" pkg.partial/webembed_glue.js
    break
  fi
done
if wants threads; then node scripts/glue-factory.mjs "${glue[threads]}" pkg.partial/webembed_threads_glue.js; fi
if [ ! -f pkg.partial/webembed_threads_glue.js ]; then
  # Not built yet (scripts/demo.sh builds it after serving): instance.js imports it statically, so
  # a stand-in says why a shared-memory engine cannot start; every other engine runs as usual.
  cat > pkg.partial/webembed_threads_glue.js <<'JS'
// A stand-in until the shared-memory binary is built (bash scripts/build.sh threads).
export function createGlue() {
  throw Object.assign(new Error('the shared-memory (threads) binary is not built yet: bash scripts/build.sh threads'), { code: 'E_FETCH' });
}
JS
fi
# The threaded glue must offer what the plain one does, plus the thread pool's entry points
# (once there is one: the stand-in above has only createGlue, which throws).
if [ -f pkg.partial/webembed_glue.js ] && [ -f pkg.partial/webembed_threads_bg.wasm ]; then
  node scripts/check-threads-glue.mjs pkg.partial/webembed_glue.js pkg.partial/webembed_threads_glue.js
fi
cp -r pkg-template/. pkg.partial/
# Swapped in whole, so a server never hands out half of one build and half of another.
rm -rf pkg.old
[ ! -d pkg ] || mv pkg pkg.old
mv pkg.partial pkg
rm -rf pkg.old

for flavour in simd128 relaxed threads; do
  wasm="pkg/${out_name[$flavour]}"
  if [ ! -f "$wasm" ]; then
    echo "$wasm: not built yet (bash scripts/build.sh $flavour)"
    continue
  fi
  raw=$(stat -c %s "$wasm")
  gz=$(gzip -9 -c "$wasm" | wc -c)
  awk -v f="$wasm" -v raw="$raw" -v gz="$gz" 'BEGIN { printf "%s: %.2f MB raw, %.2f MB gzipped (target <= 2 MB gzipped)\n", f, raw / 1e6, gz / 1e6 }'
done
