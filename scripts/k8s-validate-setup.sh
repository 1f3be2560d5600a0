#!/usr/bin/env bash
# Creates the venv with kubernetes-validate (PyPI, pinned in tools/k8s-validate/requirements.txt) that the
# chart tests validate rendered manifests with, and prints the tool's path on stdout. Re-runs are no-ops
# while the requirements are unchanged. Needs python3 (3.9+) with venv; only PyPI is contacted.
#
#   bash scripts/k8s-validate-setup.sh      # -> tools/k8s-validate/.venv/bin/kubernetes-validate
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv="$here/tools/k8s-validate/.venv"
req="$here/tools/k8s-validate/requirements.txt"
bin="$venv/bin/kubernetes-validate"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -x "$bin" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "$bin"
  exit 0
fi
py=${PYTHON:-python3}
"$py" -m venv "$venv" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
"$bin" --version >&2
echo "$want" >"$stamp"
echo "$bin"
