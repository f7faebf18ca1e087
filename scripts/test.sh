#!/usr/bin/env bash
# Runs every test: native engine tests (cargo test), the package under Node.js, and the browser
# end-to-end tests in headless Chromium. Installs what is missing first (scripts/setup.sh), then builds pkg/.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
source scripts/env.sh
# Mesa's lavapipe (the native WebGPU tests' Vulkan device) warns on every device without it.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"

printf '\n== Format and lints (cargo fmt --check; cargo clippy -D warnings: native, wasm32 SIMD128 and relaxed SIMD)\n'
cargo fmt --all --check && echo "rustfmt: no differences"
cargo clippy --release --workspace --all-targets -- -D warnings
cargo clippy --release --target wasm32-unknown-unknown -p webembed -- -D warnings
RUSTFLAGS='-C target-feature=+simd128,+relaxed-simd --cfg getrandom_backend="wasm_js"' \
  cargo clippy --release --target wasm32-unknown-unknown -p webembed --target-dir "$CARGO_TARGET_DIR/relaxed" -- -D warnings

printf '\n== Native engine tests (cargo test; structure.rs checks module cycles and one home per fact)\n'
cargo test --release --workspace

printf '\n== Build pkg/\n'
bash scripts/build.sh

printf '\n== Types: tsc --noEmit on an example that uses every option\n'
npx tsc -p tests/types && echo "index.d.ts: the example type-checks"

printf '\n== Node.js tests (the package in Node)\n'
node --test tests/node/

printf '\n== Browser end-to-end tests (headless Chromium)\n'
node --test --test-concurrency=1 tests/e2e/
