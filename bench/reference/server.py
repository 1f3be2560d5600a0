"""The reference backend for `npm run bench`: the "BLIP backend with Redis caching and FastAPI" tutorial
design, faithful and minimal.

- FastAPI + uvicorn, one `POST /caption` multipart endpoint: file `image`, optional form field `prompt`.
- redis-py cache keyed by `sha256(image bytes):prompt`, looked up before inference and set after.
- Hugging Face `BlipForConditionalGeneration.generate` on PyTorch, one generate per request, no batching.
- The handler is `async def` and calls redis-py and `generate` synchronously, as the tutorial does: while
  one request runs the model the event loop serves nothing else, so requests are captioned one at a time.

What the benchmark adds, none of it on the captioning path of a default request:
- `GET /stats`: inferences run, cache hits and misses, generated tokens (the burst workload counts
  inferences with it); `GET /health` for readiness.
- an optional form field `num_captions` (default 1 = the tutorial's request) for the beam-search workload:
  n > 1 runs `generate(num_beams=n, num_return_sequences=n)` as our API does, and the key gets `:n`.
- `REF_MIN_NEW_TOKENS` (unset by default) forces every caption to that many new tokens.

Settings (environment): REF_BUNDLE (a bundle directory; the weights are read from its `hf/` folder, the
PyTorch checkpoint the ONNX graphs were exported from), REDIS_URL (default redis://127.0.0.1:6379/0),
REF_TORCH_THREADS (default: torch's own default), REF_MAX_NEW_TOKENS (default 20, BLIP's effective
default), REF_MIN_NEW_TOKENS.

Run: uvicorn server:app --app-dir bench/reference --host 127.0.0.1 --port 8000
"""
import hashlib
import io
import logging
import os
import time

import redis
import torch
from fastapi import FastAPI, File, Form, HTTPException, UploadFile
from PIL import Image
from transformers import BlipForConditionalGeneration, BlipProcessor

log = logging.getLogger("reference")
logging.basicConfig(level=logging.INFO, format="%(asctime)s reference %(message)s")

BUNDLE = os.environ.get("REF_BUNDLE", "models/blip-base")
WEIGHTS = os.path.join(BUNDLE, "hf")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
MAX_NEW_TOKENS = int(os.environ.get("REF_MAX_NEW_TOKENS", "20"))
MIN_NEW_TOKENS = int(os.environ["REF_MIN_NEW_TOKENS"]) if os.environ.get("REF_MIN_NEW_TOKENS") else None
if os.environ.get("REF_TORCH_THREADS"):
    torch.set_num_threads(int(os.environ["REF_TORCH_THREADS"]))

# Loading the model once at start-up, as the tutorial does.
processor = BlipProcessor.from_pretrained(WEIGHTS)
model = BlipForConditionalGeneration.from_pretrained(WEIGHTS).eval()
redis_client = redis.Redis.from_url(REDIS_URL)

stats = {"inferences": 0, "cache_hits": 0, "cache_misses": 0, "generated_tokens": 0, "inference_seconds": 0.0}

app = FastAPI(title="BLIP reference backend")


def cache_key(image_bytes: bytes, prompt: str | None, num_captions: int) -> str:
    key = f"{hashlib.sha256(image_bytes).hexdigest()}:{prompt or ''}"
    return key if num_captions == 1 else f"{key}:{num_captions}"


def generate_captions(image: Image.Image, prompt: str | None, num_captions: int) -> list[str]:
    if prompt:
        inputs = processor(images=image, text=prompt, return_tensors="pt")
    else:
        inputs = processor(images=image, return_tensors="pt")
    kwargs: dict = {"max_new_tokens": MAX_NEW_TOKENS}
    if MIN_NEW_TOKENS is not None:
        kwargs["min_new_tokens"] = MIN_NEW_TOKENS
    if num_captions > 1:
        kwargs.update(num_beams=num_captions, num_return_sequences=num_captions)
    started = time.perf_counter()
    with torch.no_grad():
        out = model.generate(**inputs, **kwargs)
    stats["inference_seconds"] += time.perf_counter() - started
    stats["inferences"] += 1
    prompt_length = inputs["input_ids"].shape[1] - 1 if prompt else 1
    for row in out.tolist():
        stats["generated_tokens"] += sum(1 for t in row[prompt_length:] if t != model.config.text_config.pad_token_id)
    return [processor.decode(row, skip_special_tokens=True).strip() for row in out]


@app.post("/caption")
async def caption(
    image: UploadFile = File(...),
    prompt: str | None = Form(None),
    num_captions: int = Form(1),
) -> dict:
    if not 1 <= num_captions <= 5:
        raise HTTPException(status_code=400, detail="num_captions must be 1 to 5")
    image_bytes = await image.read()
    key = cache_key(image_bytes, prompt, num_captions)
    cached = redis_client.get(key)
    if cached is not None:
        stats["cache_hits"] += 1
        captions = cached.decode("utf-8").split("\n")
        return {"caption": captions[0], "captions": captions, "cached": True}
    stats["cache_misses"] += 1
    try:
        pil = Image.open(io.BytesIO(image_bytes)).convert("RGB")
    except Exception as exc:  # noqa: BLE001 - any undecodable upload is the client's fault
        raise HTTPException(status_code=400, detail=f"not an image: {exc}") from exc
    captions = generate_captions(pil, prompt, num_captions)
    redis_client.set(key, "\n".join(captions))
    log.info("inference %d: %r", stats["inferences"], captions[0])
    return {"caption": captions[0], "captions": captions, "cached": False}


@app.get("/stats")
async def get_stats() -> dict:
    return {**stats, "pid": os.getpid(), "torch": torch.__version__, "threads": torch.get_num_threads()}


@app.get("/health")
async def health() -> dict:
    redis_client.ping()
    return {"status": "ok"}
