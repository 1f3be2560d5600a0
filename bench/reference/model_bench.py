"""PyTorch side of `npm run bench:model`: Hugging Face BlipForConditionalGeneration.generate on the
bundle's own weights (DIR/hf), timed the way bench/model-bench.ts times the ONNX runtime.

Prints one JSON object: {"torch": version, "threads": n, "results": [{"batch": b, "encoder_ms": ...,
"decoder_ms_per_token": ..., "captions_per_second": ..., "tokens": ..., "total_ms": ...}], "peak_rss_mb": ...}
"""
import argparse
import json
import resource
import sys
import time

import torch
from PIL import Image, ImageOps
from transformers import BlipForConditionalGeneration, BlipProcessor


def load_images(paths):
    images = []
    for p in paths:
        im = Image.open(p)
        im = ImageOps.exif_transpose(im)
        im.seek(0)
        images.append(im.convert("RGB"))
    return images


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--images", nargs="+", required=True)
    ap.add_argument("--batch-sizes", nargs="+", type=int, default=[1, 4, 8])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-new-tokens", type=int, default=20)
    ap.add_argument("--min-new-tokens", type=int, default=20)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    processor = BlipProcessor.from_pretrained(f"{args.bundle}/hf")
    model = BlipForConditionalGeneration.from_pretrained(f"{args.bundle}/hf").eval()
    images = load_images(args.images)
    gen = dict(max_new_tokens=args.max_new_tokens, min_new_tokens=args.min_new_tokens)

    results = []
    with torch.no_grad():
        for bs in args.batch_sizes:
            batch = [images[i % len(images)] for i in range(bs)]
            pixel_values = processor(images=batch, return_tensors="pt").pixel_values
            model.generate(pixel_values=pixel_values, **gen)  # warm-up
            enc, tot, toks = [], [], 0
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                model.vision_model(pixel_values=pixel_values)
                t1 = time.perf_counter()
                out = model.generate(pixel_values=pixel_values, **gen)
                t2 = time.perf_counter()
                enc.append(t1 - t0)
                tot.append(t2 - t1)
                toks = out.shape[1] - 1
            encoder = min(enc)
            total = min(tot)
            results.append({
                "batch": bs,
                "encoder_ms": encoder * 1000,
                "decoder_ms_per_token": (total - encoder) * 1000 / max(toks, 1),
                "captions_per_second": bs / total,
                "tokens": toks,
                "total_ms": total * 1000,
            })
            print(f"torch batch {bs}: {total*1000:.0f} ms", file=sys.stderr)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"torch": torch.__version__, "threads": args.threads, "results": results, "peak_rss_mb": peak}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
