#!/usr/bin/env bash
# `npm test`: the whole suite. Builds, makes the tiny random test bundle (models/test-tiny) when it is
# missing, then runs every suite with node's test runner:
#   unit    pure tests, fakes allowed
#   medium  real Redis (REDIS_URL, default redis://127.0.0.1:6379) and the real tiny model
#   parity  the ONNX runtime against Hugging Face generate on the same weights
#   e2e     the API and worker as processes over HTTP
#   helm    the chart and Dockerfiles
#   reliability  faults, hostile input and access against queue-mode processes (issue 6)
#   bench   (opt-in for now, see below)
# TEST_SUITES="unit medium" npm test runs a subset.
set -euo pipefail
cd "$(dirname "$0")/.."
# bench (the benchmark harness smoke test) runs with `npm run bench:smoke`; it joins the default list
# once it has passed from a clean clone on a quiet machine (it failed once under heavy load, see docs).
# reliability passed from a clean clone (docs/reliability.md) and runs by default.
suites=${TEST_SUITES:-"unit medium parity e2e helm reliability"}
npm run --silent build
npm run --silent build:test
if [ ! -f models/test-tiny/manifest.json ]; then
  bash scripts/model-random.sh --size tiny --seed 1 --out models/test-tiny --quantize int8
fi
dirs=()
for s in $suites; do
  if [ -d "build/test/$s" ]; then dirs+=("build/test/$s"); else echo "test.sh: no suite $s (skipped)" >&2; fi
done
export TEST_MODEL_PATH=${TEST_MODEL_PATH:-$PWD/models/test-tiny}
node --test --test-concurrency=1 "${dirs[@]}"
