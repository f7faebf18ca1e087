#!/usr/bin/env bash
# Runs every test: native engine tests (cargo test), the fuzz targets for 30 s each, the package
# under Node.js, and the browser end-to-end tests in headless Chromium. Installs what is missing
# first (scripts/setup.sh), then builds pkg/. Ends with what each part cost.
set -euo pipefail
cd "$(dirname "$0")/.."

timings=()
stage_start=$SECONDS
stage_name=""
# CPU seconds of every finished child process so far (utime + stime of the children waited for,
# /proc/<pid>/stat fields 16-17): beside the wall time, it says whether a part keeps both cores busy.
cpu_seconds() { awk -v tick="$(getconf CLK_TCK)" '{ printf "%d", ($16 + $17) / tick }' "/proc/$$/stat"; }
stage_cpu=$(cpu_seconds)
stage() {
  local cpu
  cpu=$(cpu_seconds)
  [ -z "$stage_name" ] || timings+=("$(printf '%5d s  %5d s CPU  %s' $((SECONDS - stage_start)) $((cpu - stage_cpu)) "$stage_name")")
  stage_name=$1
  stage_start=$SECONDS
  stage_cpu=$cpu
  [ "$1" = "end" ] || printf '\n== %s\n' "$1"
}
report() {
  stage end
  printf '\n== Time per part (wall, and CPU time of its processes: %d cores)\n' "$(nproc)"
  printf '%s\n' "${timings[@]}"
  printf '%5d s  %5d s CPU  in all\n' "$SECONDS" "$(cpu_seconds)"
}
trap report EXIT

stage "Setup (scripts/setup.sh: installs what is missing)"
bash scripts/setup.sh
source scripts/env.sh
# Mesa's lavapipe (the native WebGPU tests' Vulkan device) warns on every device without it.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"

stage "Format and lints (cargo fmt --check; cargo clippy -D warnings: native, wasm32 SIMD128 and relaxed SIMD)"
cargo fmt --all --check && rustfmt --edition 2021 --check crate/fuzz/fuzz_targets/*.rs && echo "rustfmt: no differences"
cargo clippy --release --workspace --all-targets -- -D warnings
cargo clippy --release --target wasm32-unknown-unknown -p webembed -- -D warnings
RUSTFLAGS='-C target-feature=+simd128,+relaxed-simd --cfg getrandom_backend="wasm_js"' \
  cargo clippy --release --target wasm32-unknown-unknown -p webembed --target-dir "$CARGO_TARGET_DIR/relaxed" -- -D warnings

stage "Native engine tests (cargo test; structure.rs checks module cycles and one home per fact)"
# The native-test profile: release speed without fat LTO, so the test binaries link in seconds.
cargo test --profile native-test --workspace

stage "Fuzzing (scripts/fuzz.sh 30: each cargo fuzz target for 30 s, one per core at a time)"
bash scripts/fuzz.sh 30

stage "Build pkg/"
bash scripts/build.sh

stage "Types: tsc --noEmit on an example that uses every option"
npx tsc -p tests/types && echo "index.d.ts: the example type-checks"

stage "Node.js tests (the package in Node)"
node --test tests/node/

stage "Browser end-to-end tests (headless Chromium)"
node --test --test-concurrency=1 tests/e2e/
