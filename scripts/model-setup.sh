#!/usr/bin/env bash
# Creates the exporter's Python venv (tools/blip-export/.venv) once; re-runs are no-ops unless the
# requirements changed. Python 3.10+ is required; torch is the CPU build.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/python-venv.sh
source "$here/scripts/lib/python-venv.sh"
ensure_venv model:setup "$here/tools/blip-export/.venv" "$here/tools/blip-export/requirements.txt"
