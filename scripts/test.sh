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
cpu_pid=$$
cpu_seconds() { awk -v tick="$(getconf CLK_TCK)" '{ printf "%d", ($16 + $17) / tick }' "/proc/$cpu_pid/stat"; }
stage_cpu=$(cpu_seconds)
# One line of the closing table: wall seconds, CPU seconds, what ran.
timing_line() { printf '%5d s  %5d s CPU  %s' "$1" "$2" "$3"; }
stage() {
  local cpu
  cpu=$(cpu_seconds)
  [ -z "$stage_name" ] || timings+=("$(timing_line $((SECONDS - stage_start)) $((cpu - stage_cpu)) "$stage_name")")
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

stage "Build pkg/"
bash scripts/build.sh

# The demo's static model, distilled from all-MiniLM-L6-v2 by the engine itself (once; ~90 s).
if [ ! -f models/static-minilm-distilled/model.q8.safetensors ]; then
  node tools/distill_static.mjs > /dev/null && node pkg/cli/main.mjs quantize models/static-minilm-distilled
fi

stage "Types: tsc --noEmit on an example that uses every option"
npx tsc -p tests/types && echo "index.d.ts: the example type-checks"

# Chromium and SwiftShader keep about 1.4 of the 2 cores busy through the browser tests; fuzzing
# (one target at a time) and the Node.js tests need about one, so they run beside them, their
# output held until the browser tests end. worker.test.mjs measures how long the page's main thread
# stalls, so it runs after, alone.
E2E_ALONE=tests/e2e/worker.test.mjs
e2e_shared=()
for file in tests/e2e/*.test.mjs; do [ "$file" = "$E2E_ALONE" ] || e2e_shared+=("$file"); done
BESIDE=("Fuzzing (scripts/fuzz.sh 30: each cargo fuzz target for 30 s, one at a time)" "Node.js tests (the package in Node)")
beside=$(mktemp -d)
# Part n beside the browser tests: its output to $beside/n.log, its table line to n.time, its exit
# status to n.status.
run_beside() {
  local n=$1 start=$SECONDS cpu status=0
  shift
  cpu=$(cpu_seconds)
  "$@" > "$beside/$n.log" 2>&1 || status=$?
  timing_line $((SECONDS - start)) $(($(cpu_seconds) - cpu)) "${BESIDE[n]} (beside the browser tests)" > "$beside/$n.time"
  echo "$status" > "$beside/$n.status"
}
(
  # This subshell's own /proc stat counts the parts it waits for ($BASHPID here, not in a $(…)).
  cpu_pid=$BASHPID
  run_beside 0 env FUZZ_JOBS=1 bash scripts/fuzz.sh 30
  run_beside 1 node --test tests/node/
) &
beside_pid=$!
trap 'kill $beside_pid 2>/dev/null || true; report' EXIT

stage "Browser end-to-end tests (headless Chromium), with fuzzing and the Node.js tests beside them"
e2e_status=0
node --test --test-concurrency=1 "${e2e_shared[@]}" || e2e_status=$?
wait "$beside_pid"
trap report EXIT
beside_failed=0
for n in "${!BESIDE[@]}"; do
  printf '\n== %s\n' "${BESIDE[n]}"
  cat "$beside/$n.log"
  timings+=("$(cat "$beside/$n.time")")
  [ "$(cat "$beside/$n.status")" = 0 ] || beside_failed=$((beside_failed + 1))
done
[ "$e2e_status" = 0 ] && [ "$beside_failed" = 0 ] || { echo "failed: browser tests exit $e2e_status; parts beside them failed: $beside_failed" >&2; exit 1; }

stage "Browser tests that time the page's main thread, alone ($E2E_ALONE)"
node --test --test-concurrency=1 "$E2E_ALONE"
