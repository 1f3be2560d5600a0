#!/usr/bin/env bash
# `npm run quickstart [-- --random] [-- --port N]`: installs, builds, makes a model bundle once, starts the
# API in embedded mode (no Redis needed) and prints a token and a ready curl line. Ctrl-C stops it.
# The real BLIP base model is exported when the Hugging Face hub answers; with --random, or when it does
# not, a random-weight tiny bundle is used instead, and the captions are noise (it says so loudly).
set -euo pipefail
cd "$(dirname "$0")/.."
random=false
port=${PORT:-3000}
while [ $# -gt 0 ]; do
  case "$1" in
    --random) random=true; shift ;;
    --port) port=$2; shift 2 ;;
    *) echo "usage: npm run quickstart [-- --random] [-- --port N]" >&2; exit 2 ;;
  esac
done

say() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

say "install"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci; fi
say "build"
npm run --silent build
say "model"
bash scripts/model-setup.sh >&2
py=tools/blip-export/.venv/bin/python
hub_ok() {
  "$py" - <<'PY' 2>/dev/null
import urllib.request
urllib.request.urlopen("https://huggingface.co/api/models/Salesforce/blip-image-captioning-base", timeout=5)
PY
}
if [ -f models/blip-base/manifest.json ]; then
  model=models/blip-base
elif [ "$random" = false ] && hub_ok; then
  bash scripts/model-export.sh --model Salesforce/blip-image-captioning-base --out models/blip-base --quantize int8
  model=models/blip-base
else
  model=models/quickstart-tiny
  [ -f "$model/manifest.json" ] || bash scripts/model-random.sh --size tiny --seed 1 --out "$model"
  printf '\n\033[1;33m!! RANDOM WEIGHTS: the model hub is not reachable (or --random was given), so this runs a\n!! random-weight tiny BLIP. The service works end to end, but its captions are noise. Export the real\n!! model with: npm run model:export -- --model Salesforce/blip-image-captioning-base --out models/blip-base\033[0m\n' >&2
fi

export MODEL_PATH=$model PORT=$port HOST=127.0.0.1 REDIS_URL=
export JWT_SECRET=${JWT_SECRET:-$(node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64url"))')}
say "start the API (embedded mode) on http://127.0.0.1:$port"
node --max-semi-space-size=8 --heap-growing-percent=50 --no-allocation-site-pretenuring --no-memory-reducer dist/main.js &
api=$!
trap 'kill "$api" 2>/dev/null; wait "$api" 2>/dev/null' EXIT INT TERM
for _ in $(seq 1 300); do
  if curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1; then break; fi
  kill -0 "$api" 2>/dev/null || { echo "the API exited during start-up" >&2; exit 1; }
  sleep 0.5
done
token=$(node dist/cli/token.js --sub quickstart --scope "caption:write caption:read")
image=$(ls ../shared/images/photos/*.jpg 2>/dev/null | head -1 || true)
cat >&2 <<MSG

Ready. A token for subject "quickstart" (valid 1 h):

TOKEN=$token

curl -s -H "Authorization: Bearer \$TOKEN" -F image=@${image:-photo.jpg} -F num_captions=3 http://127.0.0.1:$port/api/v1/caption
curl -s -H "Authorization: Bearer \$TOKEN" -F image=@${image:-photo.jpg} -F prompt="a picture of" http://127.0.0.1:$port/api/v1/caption
OpenAPI: http://127.0.0.1:$port/docs   Health: http://127.0.0.1:$port/health/ready   Metrics: http://127.0.0.1:${MANAGEMENT_PORT:-9464}/metrics
Ctrl-C stops the API.
MSG
wait "$api"
