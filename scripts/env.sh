# Sourced by the scripts: one cargo target folder per machine, so a fresh clone reuses the
# compiled dependencies of earlier ones instead of spending minutes rebuilding candle.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/webembed/target}"
mkdir -p "$CARGO_TARGET_DIR"
