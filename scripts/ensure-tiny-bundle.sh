#!/usr/bin/env bash
# Makes sure DIR (default models/test-tiny) holds the tiny random test bundle (seed 1, int8 included) made
# by the CURRENT exporter: it is (re-)exported when it is missing or when its manifest's exporter_version
# differs from EXPORTER_VERSION in tools/blip-export/export.py, so a bundle cached by an older exporter is
# never used silently. Used by scripts/test.sh (and so CI) and the parity suite.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$here/models/test-tiny}
want=$(sed -n 's/^EXPORTER_VERSION = "\(.*\)"$/\1/p' "$here/tools/blip-export/export.py")
have=""
if [ -f "$dir/manifest.json" ]; then
  have=$(node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).exporter_version ?? ""))' "$dir/manifest.json")
fi
if [ -n "$have" ] && [ "$have" = "$want" ]; then
  exit 0
fi
if [ -n "$have" ]; then
  echo "ensure-tiny-bundle: $dir was made by exporter $have, the exporter is $want: re-exporting" >&2
fi
bash "$here/scripts/model-random.sh" --size tiny --seed 1 --out "$dir" --quantize int8
