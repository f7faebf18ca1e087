#!/usr/bin/env bash
# Installs everything, builds the package, converts the models to q8 and serves the demo with
# all-MiniLM-L6-v2 on localhost.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/build.sh
# The demo loads its models as q8: convert each once (checked against its f32 weights).
for model in models/*/; do
  [ -f "$model/model.q8.safetensors" ] || node pkg/cli.mjs quantize "$model"
done
exec node scripts/serve.mjs "$@"
