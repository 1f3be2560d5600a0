#!/usr/bin/env bash
# `npm test`: the whole suite. Builds, makes the tiny random test bundle, then runs every suite with
# node's test runner. Suites: unit, medium (real Redis + real tiny model), parity, e2e, helm.
set -euo pipefail
cd "$(dirname "$0")/.."
suites=${TEST_SUITES:-"unit"}
npm run --silent build
npm run --silent build:test
dirs=()
for s in $suites; do dirs+=("build/test/$s"); done
node --test --test-concurrency=1 "${dirs[@]}"
