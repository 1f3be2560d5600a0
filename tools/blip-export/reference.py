#!/usr/bin/env python3
"""Reference side of the parity tests: Hugging Face BlipForConditionalGeneration on a bundle's hf/ weights.

Run by the TypeScript test suite as a child process:

    tools/blip-export/.venv/bin/python tools/blip-export/reference.py \
        --bundle DIR --images PATH... [--prompts P...] [--num-beams 3] [--num-return 3] \
        [--max-new-tokens N] --out OUT_DIR

- Loads BlipForConditionalGeneration and BlipProcessor from DIR/hf (offline; the processor's image
  processor is the PIL BlipImageProcessorPil). torch.manual_seed(0), torch.set_num_threads(2), eval, no_grad.
- Each image: PIL open, ImageOps.exif_transpose, first frame, convert("RGB"), BlipProcessor ->
  pixel_values, written to OUT_DIR/<index>.f32 (raw little-endian float32, C-order [3, H, W], index =
  position in --images). An image PIL cannot open or decode gets an "error" string instead.
- Each image x prompt ("" = unconditional; prompts must not start with "-"): greedy generate and beam
  search, the prompt's tokenizer output passed UNCHANGED as input_ids (generate itself replaces [CLS] by
  [DEC] and drops [SEP]). Without --prompts only the pixel values are produced.
- Exit status: 0 when reference.json was written (even if some images failed: see their "error"),
  2 on bad arguments, 1 when the bundle cannot be loaded or another fatal error occurs.

OUT_DIR/reference.json schema:
{
  "tool": "reference.py",
  "versions": {"python": str, "torch": str, "transformers": str, "pillow": str},
  "bundle": str,                        # absolute path of --bundle
  "model": {"id": str, "revision": str, "version": str} | null,   # from DIR/manifest.json if present
  "image_processor": str,               # class name, "BlipImageProcessorPil"
  "settings": {"num_beams": int, "num_return": int, "max_new_tokens": int | null},
  "prompts": [                          # in --prompts order
    {"prompt": str, "prompt_ids": [int]}     # the tokenizer's ids, e.g. "a picture of" ->
  ],                                          # [101, 1037, 3861, 1997, 102]; "" -> [101, 102]
  "images": [                           # in --images order
    {
      "index": int,
      "path": str,                      # as given
      "error": str | null,              # "<ExceptionType>: <message>" if PIL/the processor failed
      "original_size": [w, h] | null,   # after exif_transpose
      "original_mode": str | null,      # PIL mode before convert("RGB")
      "n_frames": int | null,
      "pixel_values": str | null,       # file name in OUT_DIR, e.g. "0.f32"
      "pixel_shape": [3, H, W] | null,
      "results": [                      # one per prompt, same order as "prompts"; [] if error
        {
          "prompt": str,
          "prompt_ids": [int],          # = prompts[k].prompt_ids
          "error": str | null,          # generation failure for this pair (never expected)
          "greedy": {
            "sequence": [int],          # generate's output row as returned: [30522, prompt ids without
                                        #   [CLS]/[SEP]..., generated ids...], ends with 102 if it stopped
            "text": str,                # processor.decode(sequence, skip_special_tokens=True)
            "steps": [                  # one per generated token (output_scores), in order
              {"token": int,            # the id chosen at this step
               "logprob": float,        # its log-probability (log_softmax of the step's scores)
               "top2": [[int, float], [int, float]]}   # best and second-best (id, log-probability)
            ]
          },
          "beam": {                     # generate(num_beams, num_return_sequences=num_return)
            "sequences": [[int]],       # rows as returned (shorter rows right-padded with 0 by generate)
            "scores": [float] | null,   # sequences_scores (sum of log-probabilities / length^length_penalty);
                                        #   null when --num-beams 1 (generate returns none)
            "texts": [str]
          }
        }
      ]
    }
  ],
  "elapsed_s": float
}
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path


def parse_args(argv):
    ap = argparse.ArgumentParser(description="Hugging Face reference outputs for the BLIP parity tests.")
    ap.add_argument("--bundle", required=True, help="bundle directory (its hf/ checkpoint is used)")
    ap.add_argument("--images", nargs="+", required=True, help="image files")
    ap.add_argument("--prompts", nargs="*", default=None,
                    help='prompts; "" means unconditional. Omit to only write pixel values')
    ap.add_argument("--num-beams", type=int, default=3)
    ap.add_argument("--num-return", type=int, default=3)
    ap.add_argument("--max-new-tokens", type=int, default=None,
                    help="override generate's default (20 new tokens); default: not passed")
    ap.add_argument("--out", required=True, help="output directory (created)")
    args = ap.parse_args(argv)
    if args.num_beams < 1 or args.num_return < 1 or args.num_return > args.num_beams:
        ap.error("need 1 <= --num-return <= --num-beams")
    return args


def load_image(path: str):
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        im.seek(0)
        n_frames = getattr(im, "n_frames", 1)
        im = ImageOps.exif_transpose(im)
        mode = im.mode
        size = list(im.size)
        rgb = im.convert("RGB")
    rgb.load()
    return rgb, {"original_size": size, "original_mode": mode, "n_frames": n_frames}


def top2(scores_row):
    import torch

    logp = torch.log_softmax(scores_row.float(), dim=-1)
    vals, ids = torch.topk(logp, 2)
    return logp, [[int(ids[0]), float(vals[0])], [int(ids[1]), float(vals[1])]]


def run_prompt(model, processor, pixel_values, prompt: str, args) -> dict:
    import torch

    common = {}
    if args.max_new_tokens is not None:
        common["max_new_tokens"] = args.max_new_tokens

    def inputs():
        # a fresh tokenization for every call: generate overwrites input_ids[:, 0] in place
        if prompt == "":
            return {}
        enc = processor.tokenizer(prompt, return_tensors="pt")
        return {"input_ids": enc.input_ids, "attention_mask": enc.attention_mask}

    with torch.no_grad():
        torch.manual_seed(0)
        g = model.generate(pixel_values=pixel_values, num_beams=1, do_sample=False, output_scores=True,
                           return_dict_in_generate=True, **inputs(), **common)
    seq = g.sequences[0].tolist()
    n_gen = len(g.scores)
    steps = []
    for t in range(n_gen):
        logp, best2 = top2(g.scores[t][0])
        token = seq[len(seq) - n_gen + t]
        steps.append({"token": token, "logprob": float(logp[token]), "top2": best2})
    greedy = {"sequence": seq, "text": processor.decode(seq, skip_special_tokens=True), "steps": steps}

    with torch.no_grad():
        torch.manual_seed(0)
        b = model.generate(pixel_values=pixel_values, num_beams=args.num_beams,
                           num_return_sequences=args.num_return, do_sample=False, output_scores=True,
                           return_dict_in_generate=True, **inputs(), **common)
    sequences = b.sequences.tolist()
    beam = {
        "sequences": sequences,
        "scores": None if getattr(b, "sequences_scores", None) is None else [float(x) for x in b.sequences_scores.tolist()],
        "texts": [processor.decode(s, skip_special_tokens=True) for s in sequences],
    }
    return {"greedy": greedy, "beam": beam}


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    bundle = Path(args.bundle).resolve()
    out = Path(args.out)
    hf = bundle / "hf"
    if not (hf / "config.json").is_file():
        print(f"reference.py: error: {hf} has no config.json (is --bundle a bundle with its hf/ checkpoint?)",
              file=sys.stderr)
        return 1
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import warnings

    warnings.filterwarnings("ignore")
    import PIL
    import torch
    import transformers
    from transformers import BlipForConditionalGeneration, BlipProcessor

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    try:
        model = BlipForConditionalGeneration.from_pretrained(str(hf)).eval()
        processor = BlipProcessor.from_pretrained(str(hf))
    except Exception as e:  # noqa: BLE001
        print(f"reference.py: error: cannot load {hf}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1

    model_info = None
    if (bundle / "manifest.json").is_file():
        m = json.loads((bundle / "manifest.json").read_text())
        model_info = {"id": m["source"]["id"], "revision": m["source"]["revision"], "version": m["version"]}

    out.mkdir(parents=True, exist_ok=True)
    prompts = [] if args.prompts is None else list(args.prompts)
    prompt_info = [{"prompt": p, "prompt_ids": processor.tokenizer(p).input_ids} for p in prompts]

    t0 = time.time()
    images = []
    for index, path in enumerate(args.images):
        entry = {"index": index, "path": path, "error": None, "original_size": None, "original_mode": None,
                 "n_frames": None, "pixel_values": None, "pixel_shape": None, "results": []}
        images.append(entry)
        try:
            rgb, meta = load_image(path)
            entry.update(meta)
            pv = processor(images=rgb, return_tensors="pt").pixel_values
        except Exception as e:  # noqa: BLE001 - any failure to read an image is a result, not a crash
            entry["error"] = f"{type(e).__name__}: {e}"
            continue
        arr = pv[0].detach().numpy().astype("<f4", copy=False)
        name = f"{index}.f32"
        (out / name).write_bytes(arr.tobytes(order="C"))
        entry["pixel_values"] = name
        entry["pixel_shape"] = list(arr.shape)
        for info in prompt_info:
            result = {"prompt": info["prompt"], "prompt_ids": info["prompt_ids"], "error": None,
                      "greedy": None, "beam": None}
            try:
                result.update(run_prompt(model, processor, pv, info["prompt"], args))
            except Exception as e:  # noqa: BLE001
                result["error"] = f"{type(e).__name__}: {e}"
            entry["results"].append(result)

    doc = {
        "tool": "reference.py",
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__, "pillow": PIL.__version__},
        "bundle": str(bundle),
        "model": model_info,
        "image_processor": type(processor.image_processor).__name__,
        "settings": {"num_beams": args.num_beams, "num_return": args.num_return,
                     "max_new_tokens": args.max_new_tokens},
        "prompts": prompt_info,
        "images": images,
        "elapsed_s": round(time.time() - t0, 3),
    }
    tmp = out / "reference.json.tmp"
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    tmp.replace(out / "reference.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
