#!/usr/bin/env bash
# `npm test`: the whole suite. Builds, makes the tiny random test bundle (models/test-tiny) when it is
# missing or made by another exporter version, then runs every suite with node's test runner:
#   unit    pure tests, fakes allowed
#   medium  real Redis (REDIS_URL, default redis://127.0.0.1:6379) and the real tiny model
#   parity  the ONNX runtime against Hugging Face generate on the same weights
#   e2e     the API and worker as processes over HTTP
#   helm    the chart and Dockerfiles
#   reliability  faults, hostile input and access against queue-mode processes (issue 6)
#   bench   the benchmark harness's smoke test on the tiny bundle (every system, every workload once,
#           the JSON's fields; no timing asserted)
# TEST_SUITES="unit medium" npm test runs a subset.
set -euo pipefail
cd "$(dirname "$0")/.."
suites=${TEST_SUITES:-"unit medium parity e2e helm reliability bench"}
npm run --silent build
npm run --silent build:test
bash scripts/ensure-tiny-bundle.sh models/test-tiny
dirs=()
for s in $suites; do
  if [ -d "build/test/$s" ]; then dirs+=("build/test/$s"); else echo "test.sh: no suite $s (skipped)" >&2; fi
done
export TEST_MODEL_PATH=${TEST_MODEL_PATH:-$PWD/models/test-tiny}
node --test --test-concurrency=1 "${dirs[@]}"
