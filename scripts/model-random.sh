#!/usr/bin/env bash
# Builds a BLIP bundle with random weights (no download):
#   npm run model:random -- --size tiny|base --seed N --out DIR [--quantize int8]
# tiny (a few MB) is for tests, base (the dimensions of blip-image-captioning-base) for benchmarks.
# Same seed -> same weights and the same bundle version.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
args=()
size=""
while [ $# -gt 0 ]; do
  case "$1" in
    --size) [ $# -ge 2 ] || { echo "model:random: --size needs tiny or base" >&2; exit 2; }; size=$2; shift 2 ;;
    --size=*) size=${1#--size=}; shift ;;
    --random | --random=* | --model | --model=*) echo "model:random: use --size tiny|base (for a checkpoint use npm run model:export)" >&2; exit 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
if [ -z "$size" ]; then
  echo "usage: npm run model:random -- --size tiny|base --seed N --out DIR [--quantize int8]" >&2
  exit 2
fi
bash "$here/scripts/model-setup.sh" >&2
exec "$here/tools/blip-export/.venv/bin/python" "$here/tools/blip-export/export.py" --random "$size" "${args[@]}"
