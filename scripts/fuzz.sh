#!/usr/bin/env bash
# Runs each cargo fuzz target (crate/fuzz) for N seconds (default 30), from the committed seeds
# plus the corpus earlier runs on this machine grew. A crash stops the script with the failing
# input saved under crate/fuzz/artifacts/<target>/; copy it to crate/fuzz/regressions/<target>/
# so crate/tests/fuzz_regressions.rs replays it on every test run.
#   bash scripts/fuzz.sh [SECONDS] [TARGET ...]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(config safetensors pytorch_bin tokenizer keywords)

fuzz_target_dir="$(dirname "$CARGO_TARGET_DIR")/fuzz-target"
corpus_root="$(dirname "$CARGO_TARGET_DIR")/fuzz-corpus"
# Incremental: a fresh clone's new file times make cargo rebuild the engine for the fuzz targets
# (instrumented, without LTO: 84 s); incremental compilation reuses what did not change.
fuzz() { CARGO_INCREMENTAL=1 cargo "+$WEBEMBED_NIGHTLY" fuzz "$@"; }

start=$SECONDS
fuzz build --fuzz-dir crate/fuzz --target-dir "$fuzz_target_dir"
echo "fuzz targets built in $((SECONDS - start)) s"

# One target: runs it for $seconds; returns non-zero (with the finding printed) on a crash.
fuzz_one() {
  local target=$1 corpus="$corpus_root/$1" log
  mkdir -p "$corpus" "crate/fuzz/artifacts/$target"
  log=$(mktemp)
  # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: memory beyond 2 GB is a finding.
  if ! fuzz run --fuzz-dir crate/fuzz --target-dir "$fuzz_target_dir" "$target" "$corpus" "crate/fuzz/seeds/$target" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="crate/fuzz/artifacts/$target/" > "$log" 2>&1; then
    grep -E "panicked|ERROR|SUMMARY|Test unit written|timeout|out-of-memory" -A2 "$log" | cut -c1-300 | head -n 40
    echo "fuzz target $target FAILED: the input is in crate/fuzz/artifacts/$target/" >&2
    rm -f "$log"
    return 1
  fi
  local runs cov
  runs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
  echo "fuzz $target: $runs executions in $seconds s, $cov, corpus $(ls "$corpus" | wc -l) inputs, no crash"
  rm -f "$log"
}

# As many targets at once as there are cores (or FUZZ_JOBS): each still gets a core for its whole
# $seconds. The test command sets FUZZ_JOBS=1 to fuzz beside the browser tests on their idle core.
parallel=${FUZZ_JOBS:-$(nproc)}
failed=0
for ((i = 0; i < ${#targets[@]}; i += parallel)); do
  pids=()
  for target in "${targets[@]:i:parallel}"; do
    fuzz_one "$target" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  [ "$failed" = 0 ] || exit 1
done
