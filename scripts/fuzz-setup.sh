#!/usr/bin/env bash
# Creates the API fuzzer's Python venv (tools/fuzz/.venv, schemathesis) once; re-runs are no-ops unless
# tools/fuzz/requirements.txt changed. Used by test/reliability/schemathesis.test.ts.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/python-venv.sh
source "$here/scripts/lib/python-venv.sh"
ensure_venv fuzz:setup "$here/tools/fuzz/.venv" "$here/tools/fuzz/requirements.txt"
