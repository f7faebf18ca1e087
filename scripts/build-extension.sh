#!/usr/bin/env bash
# Assembles the example MV3 extension in build/extension: www/extension + pkg/ + the bundled
# all-MiniLM-L6-v2 model. Load it with chrome://extensions → "Load unpacked". Needs pkg/ built.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/extension
rm -rf "$out.partial"
mkdir -p "$out.partial/webembed" "$out.partial/model/1_Pooling"
cp www/extension/manifest.json www/extension/popup.html www/extension/popup.js www/extension/content.js "$out.partial/"
cp pkg/*.js pkg/*.wasm "$out.partial/webembed/"
model=models/all-MiniLM-L6-v2
for f in config.json tokenizer.json tokenizer_config.json modules.json sentence_bert_config.json \
         config_sentence_transformers.json 1_Pooling/config.json model.safetensors; do
  cp "$model/$f" "$out.partial/model/$f"
done
rm -rf "$out" && mv "$out.partial" "$out"
echo "extension: $out (id $(cat www/extension/EXTENSION_ID))"
