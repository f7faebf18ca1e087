#!/usr/bin/env bash
# Builds the Python documentation (Debian's python3.11-doc, HTML) into a shipped index beside this
# page, then serves the repository so the page can search it:
#   bash examples/python-docs/build.sh        → open the printed URL
# Needs pkg/ built and models/all-MiniLM-L6-v2 (bash scripts/setup.sh). A second run embeds only
# pages that changed (the build cache in .webembed-cache/).
set -euo pipefail
cd "$(dirname "$0")/../.."
DOCS=/usr/share/doc/python3.11/html
[ -d "$DOCS" ] || { echo "build.sh: $DOCS is absent: sudo apt-get install python3.11-doc" >&2; exit 1; }
# Only the pages: the _sources/ texts and static files are not documents.
node pkg/cli/main.mjs index "$DOCS/**/*.html" --model models/all-MiniLM-L6-v2 --out examples/python-docs/index
node scripts/serve.mjs --path /examples/python-docs/
