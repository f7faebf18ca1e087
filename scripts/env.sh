# Sourced by the scripts. The pinned nightly (cargo fuzz, -Z build-std) is WEBEMBED_NIGHTLY.
# One cargo target folder per machine, so a fresh clone reuses the
# compiled dependencies of earlier ones instead of spending minutes rebuilding candle.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/webembed/target}"
mkdir -p "$CARGO_TARGET_DIR"
export WEBEMBED_NIGHTLY=nightly-2026-05-20
