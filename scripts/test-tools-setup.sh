#!/usr/bin/env bash
# Creates the test tools' Python venv (tools/test-tools/.venv: moto's S3 server for the bundle
# publish/pull tests) once; re-runs are no-ops unless the requirements changed. PyPI only.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv="$here/tools/test-tools/.venv"
req="$here/tools/test-tools/requirements.txt"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "test-tools:setup: venv up to date ($venv)"
  exit 0
fi
py=${PYTHON:-python3}
"$py" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet -r "$req"
echo "$want" > "$stamp"
echo "test-tools:setup: venv ready ($venv)"
