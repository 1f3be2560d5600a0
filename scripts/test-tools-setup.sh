#!/usr/bin/env bash
# Creates the test tools' Python venv (tools/test-tools/.venv: moto's S3 server for the bundle
# publish/pull tests) once; re-runs are no-ops unless the requirements changed. PyPI only.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/python-venv.sh
source "$here/scripts/lib/python-venv.sh"
ensure_venv test-tools:setup "$here/tools/test-tools/.venv" "$here/tools/test-tools/requirements.txt"
