# Sourced by the scripts that make the project's Python venvs (model-setup, fuzz-setup,
# test-tools-setup): one way to create a venv from a pinned requirements file, once.
#
#   ensure_venv LABEL VENV REQUIREMENTS
#
# A venv whose stamp holds the requirements file's sha256 is up to date and left alone; otherwise it is
# (re)created with python3 (or $PYTHON, 3.10+) and the requirements installed from PyPI.
ensure_venv() {
  local label=$1 venv=$2 req=$3
  local stamp="$venv/.requirements.sha256" want py
  want=$(sha256sum "$req" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "$label: venv up to date ($venv)"
    return 0
  fi
  py=${PYTHON:-python3}
  "$py" -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10+ required"'
  "$py" -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  # Elsewhere, set PIP_EXTRA_INDEX_URL to a CPU wheel index first to avoid the CUDA build of torch.
  "$venv/bin/pip" install --quiet -r "$req"
  echo "$want" > "$stamp"
  echo "$label: venv ready ($venv)"
}
