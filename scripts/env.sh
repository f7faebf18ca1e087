# Sourced by the scripts. The pinned nightly (cargo fuzz, -Z build-std) is WEBEMBED_NIGHTLY.
# One cargo target folder per machine, so a fresh clone reuses the
# compiled dependencies of earlier ones instead of spending minutes rebuilding candle.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/webembed/target}"
mkdir -p "$CARGO_TARGET_DIR"
# The pinned nightly: installed by that name (scripts/setup.sh), or the image's own `nightly`
# when that is the same build (its channel manifest carries the date).
WEBEMBED_NIGHTLY_DATE=2026-05-20
export WEBEMBED_NIGHTLY="nightly-$WEBEMBED_NIGHTLY_DATE"
if ! rustup run "$WEBEMBED_NIGHTLY" rustc --version >/dev/null 2>&1; then
  image_nightly="$(rustup run nightly rustc --print sysroot 2>/dev/null || true)/lib/rustlib/multirust-channel-manifest.toml"
  if grep -qx "date = \"$WEBEMBED_NIGHTLY_DATE\"" "$image_nightly" 2>/dev/null; then
    export WEBEMBED_NIGHTLY=nightly
  fi
fi
# The Python venv of the tools that need torch (fixture makers, the cluster example's Ray job).
export WEBEMBED_TORCH_VENV="${WEBEMBED_TORCH_VENV:-$HOME/.cache/webembed/torch-venv}"
export WEBEMBED_TORCH_PYTHON="$WEBEMBED_TORCH_VENV/bin/python"
