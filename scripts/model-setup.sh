#!/usr/bin/env bash
# Creates the exporter's Python venv (tools/blip-export/.venv) once; re-runs are no-ops unless the
# requirements changed. Python 3.10+ is required; torch is the CPU build.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv="$here/tools/blip-export/.venv"
req="$here/tools/blip-export/requirements.txt"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "model:setup: venv up to date ($venv)"
  exit 0
fi
py=${PYTHON:-python3}
"$py" -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10+ required"'
"$py" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
# Elsewhere, set PIP_EXTRA_INDEX_URL to a CPU wheel index first to avoid the CUDA build of torch.
"$venv/bin/pip" install --quiet -r "$req"
echo "$want" > "$stamp"
echo "model:setup: venv ready ($venv)"
