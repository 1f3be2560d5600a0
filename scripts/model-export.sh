#!/usr/bin/env bash
# Exports a BLIP checkpoint to a model bundle (docs/bundle-format.md):
#   npm run model:export -- --model Salesforce/blip-image-captioning-base --out models/blip-base [--revision R] [--quantize int8]
# Creates the exporter's venv first if needed (scripts/model-setup.sh). All arguments go to
# tools/blip-export/export.py (see its --help).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bash "$here/scripts/model-setup.sh" >&2
exec "$here/tools/blip-export/.venv/bin/python" "$here/tools/blip-export/export.py" "$@"
