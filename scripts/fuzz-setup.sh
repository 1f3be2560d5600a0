#!/usr/bin/env bash
# Creates the API fuzzer's Python venv (tools/fuzz/.venv, schemathesis) once; re-runs are no-ops unless
# tools/fuzz/requirements.txt changed. Used by test/reliability/schemathesis.test.ts.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv="$here/tools/fuzz/.venv"
req="$here/tools/fuzz/requirements.txt"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "fuzz:setup: venv up to date ($venv)"
  exit 0
fi
py=${PYTHON:-python3}
"$py" -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10+ required"'
"$py" -m venv "$venv"
"$venv/bin/pip" install --quiet -r "$req"
echo "$want" > "$stamp"
echo "fuzz:setup: venv ready ($venv)"
