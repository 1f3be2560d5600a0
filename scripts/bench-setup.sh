#!/usr/bin/env bash
# Creates the reference backend's own Python venv (bench/reference/.venv) from the pinned
# bench/reference/requirements.txt, once; re-runs are no-ops unless the requirements changed.
# When the exporter's venv (tools/blip-export/.venv, `npm run model:setup`) exists, its site-packages are
# shared through a .pth file: torch and transformers are pinned to the same versions there, so pip finds
# them satisfied and installs only the web stack (fastapi, uvicorn, redis, python-multipart, py-spy),
# which saves minutes and a second copy of torch. BENCH_STANDALONE_VENV=1 installs everything instead.
# Python 3.10+ is required; torch is the CPU build. `npm run bench` calls this when needed.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv="$here/bench/reference/.venv"
req="$here/bench/reference/requirements.txt"
exporter="$here/tools/blip-export/.venv"
stamp="$venv/.requirements.sha256"
share=0
if [ "${BENCH_STANDALONE_VENV:-0}" != 1 ] && [ -x "$exporter/bin/python" ]; then share=1; fi
want=$(
  sha256sum "$req" | cut -d' ' -f1
  if [ $share = 1 ]; then sha256sum "$here/tools/blip-export/requirements.txt" | cut -d' ' -f1; fi
)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "bench:setup: venv up to date ($venv)"
  exit 0
fi
py=${PYTHON:-python3}
"$py" -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10+ required"'
rm -rf "$venv"
"$py" -m venv "$venv"
if [ $share = 1 ]; then
  own=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  theirs=$("$exporter/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  [ "$("$venv/bin/python" -c 'import sys; print(sys.version_info[:2])')" = \
    "$("$exporter/bin/python" -c 'import sys; print(sys.version_info[:2])')" ] || {
    echo "bench:setup: the exporter venv uses another Python; set BENCH_STANDALONE_VENV=1" >&2
    exit 1
  }
  echo "$theirs" > "$own/_blip_export_venv.pth"
  echo "bench:setup: sharing torch/transformers with $exporter"
fi
# Elsewhere, set PIP_EXTRA_INDEX_URL to a CPU wheel index first to avoid the CUDA build of torch.
"$venv/bin/pip" install --quiet -r "$req" 2> >(grep -v "^WARNING: Location" >&2)
"$venv/bin/python" - "$req" <<'PY'
import sys
from importlib.metadata import version
bad = []
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if "==" in line:
        name, pin = line.split("==")
        have = version(name)
        if have.split("+")[0] != pin:
            bad.append(f"{name} {have} (pinned {pin})")
if bad:
    sys.exit("bench:setup: version mismatch: " + ", ".join(bad))
PY
echo "$want" > "$stamp"
echo "bench:setup: venv ready ($venv)"
