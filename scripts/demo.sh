#!/usr/bin/env bash
# Installs everything, builds the package and serves the demo with all-MiniLM-L6-v2 on localhost.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/build.sh
exec node scripts/serve.mjs "$@"
