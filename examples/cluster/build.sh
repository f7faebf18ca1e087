#!/usr/bin/env bash
# The cluster example end to end on this machine: a Ray Data job (local mode) embeds the corpus
# with sentence-transformers into Parquet parts, `webembed index --parquet` builds a shipped
# index of them, and the page searches it:
#   bash examples/cluster/build.sh [corpus.jsonl]        → open the printed URL
# Needs pkg/ built, models/all-MiniLM-L6-v2 and the Python tools venv with Ray, torch and
# sentence-transformers (bash scripts/setup.sh). On a cluster, run embed_job.py there (RAY_ADDRESS
# set, --out on shared storage) and only the index step here.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/env.sh
CORPUS=${1:-examples/cluster/corpus.jsonl}
"$WEBEMBED_TORCH_PYTHON" examples/cluster/embed_job.py --corpus "$CORPUS" --model models/all-MiniLM-L6-v2 --out build/cluster/parts
node pkg/cli/main.mjs index --parquet build/cluster/parts --model models/all-MiniLM-L6-v2 \
  --model-name sentence-transformers/all-MiniLM-L6-v2 --out build/cluster/index
node scripts/serve.mjs --path /examples/cluster/
