#!/usr/bin/env bash
# Runs a compiled entry point from dist/, building first (quietly, on stderr) when src/ changed since the
# last build, so `npm run caption` or `npm run token` work on a fresh clone and stdout stays clean.
set -euo pipefail
cd "$(dirname "$0")/.."
entry=$1
shift
stamp=dist/.build-stamp
if [ ! -f "dist/$entry" ] || [ ! -f "$stamp" ] || [ -n "$(find src tsconfig.json tsconfig.build.json -newer "$stamp" -print -quit)" ]; then
  npx tsc -p tsconfig.build.json 1>&2
  touch "$stamp"
fi
exec node "dist/$entry" "$@"
