#!/usr/bin/env bash
# Assembles the example MV3 extension in build/extension: www/extension + pkg/ + the bundled
# all-MiniLM-L6-v2 model in q8 (model.q8.safetensors, 23.6 MB instead of 90.9 MB), made by the
# package's own converter. Load it with chrome://extensions → "Load unpacked". Needs pkg/ built.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/extension
rm -rf "$out.partial"
mkdir -p "$out.partial/webembed"
cp www/extension/manifest.json www/extension/*.html www/extension/*.js "$out.partial/"
# The browser side of the package: the façade, the glue, the binaries and the folders below it (not cli/).
cp pkg/*.js pkg/*.wasm "$out.partial/webembed/"
cp -r pkg/core pkg/loading pkg/engine pkg/search pkg/shipped pkg/workers pkg/model "$out.partial/webembed/"
# The converter copies the configs and tokenizer and checks the q8 file against the f32 model.
node pkg/cli/main.mjs quantize models/all-MiniLM-L6-v2 --out "$out.partial/model" | sed 's/^/extension: /'
rm -rf "$out" && mv "$out.partial" "$out"
echo "extension: $out (id $(cat www/extension/EXTENSION_ID))"
