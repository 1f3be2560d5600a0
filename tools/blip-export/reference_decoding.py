#!/usr/bin/env python3
"""Reference side of the decoding parity tests (issue 11): `diverse` and `sample` on the HF BLIP model.

    tools/blip-export/.venv/bin/python tools/blip-export/reference_decoding.py \
        --bundle DIR --pixels 0.f32 3.f32 ... --cases cases.json --out OUT_DIR

- Loads BlipForConditionalGeneration and BlipProcessor from DIR/hf (offline), eval, no_grad, 2 threads.
- --pixels: raw little-endian float32 [3, S, S] pixel values (reference.py writes them).
- --cases: a JSON list of cases, each {"prompt": str, "decoding": "diverse" | "sample", "num_captions": K,
  and optionally num_beams, diversity_penalty, top_p, temperature, seed, max_new_tokens, min_new_tokens,
  repetition_penalty, length_penalty} with the service's defaults (src/model/generation-options.ts).
- Decoding runs on the model's own forward pass (vision_model, then text_decoder with its key/value
  cache, called as BlipForConditionalGeneration.generate calls it) and transformers' logits processors
  (RepetitionPenalty, MinLength, MinNewTokensLength, TemperatureLogitsWarper). Two parts are not in
  transformers 5.x and are written here:
  * diverse: `_group_beam_search`, `BeamSearchScorer`, `BeamHypotheses` and `HammingDiversityLogitsProcessor`
    ported from transformers 4.x (the last releases that had them), one image at a time.
  * sample: the SplitMix64 generator and the nucleus draw of docs/decoding.md, in float64 numpy; one row
    (batch 1) per caption, row r drawing from the stream (seed, r).
- Self-check: for every image x prompt the same forward-pass loop run greedily must give
  model.generate's greedy ids ("harness_check" in the output).

OUT_DIR/reference.json: {"versions": {...}, "cases": [case...], "harness_check": {"equal": n, "total": n},
 "images": [{"pixels": path, "results": [{"case": i, "sequences": [[ids]], "scores": [float]}]}]}
A sequence is the prompt ids (starting with [DEC] 30522) followed by the generated ids, ending with [SEP]
(102) when it stopped there; scores are the search's (diverse: length-penalised sum; sample: mean
log-probability).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

DEFAULTS = {"max_new_tokens": 20, "min_new_tokens": 0, "repetition_penalty": 1.0, "length_penalty": 1.0,
            "diversity_penalty": 1.0, "top_p": 0.9, "temperature": 1.0, "seed": 0}
MASK64 = (1 << 64) - 1


class SplitMix64:
    """docs/decoding.md: state = seed * 2^32 + row; next: state += gamma, then the mix; doubles = top 53 bits / 2^53."""

    def __init__(self, seed: int, row: int):
        self.state = ((seed << 32) | row) & MASK64

    def next_uint64(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def next_double(self) -> float:
        return (self.next_uint64() >> 11) / 2.0**53


def nucleus_draw(scores32: np.ndarray, top_p: float, u: float) -> int:
    """docs/decoding.md, step by step in float64 (sums are sequential, in the stated order)."""
    s = scores32.astype(np.float64)
    mx = s.max()
    e = np.exp(s - mx)
    z = np.cumsum(e)[-1]  # sequential, index order
    p = e / z
    order = np.lexsort((np.arange(len(s)), -s))  # score descending, lower id first
    pk = p[order]
    c = np.cumsum(pk)
    kept = len(order)
    if top_p < 1.0:
        reach = np.nonzero(c >= top_p)[0]
        if len(reach) > 0:
            kept = int(reach[0]) + 1
    mass = c[kept - 1]
    target = u * mass
    hits = np.nonzero((c[:kept] > target) & (pk[:kept] > 0))[0]
    if len(hits) > 0:
        return int(order[hits[0]])
    positive = np.nonzero(pk[:kept] > 0)[0]
    return int(order[positive[-1]]) if len(positive) > 0 else int(order[0])


class HammingDiversityLogitsProcessor:
    """transformers 4.x, unchanged in substance."""

    def __init__(self, diversity_penalty: float, num_beams: int, num_beam_groups: int):
        self._diversity_penalty = diversity_penalty
        self._num_beams = num_beams
        self._num_sub_beams = num_beams // num_beam_groups

    def __call__(self, input_ids, scores, current_tokens, beam_group_idx):
        import torch

        batch_size = current_tokens.shape[0] // self._num_beams
        group_start_idx = beam_group_idx * self._num_sub_beams
        group_end_idx = min(group_start_idx + self._num_sub_beams, self._num_beams)
        group_size = group_end_idx - group_start_idx
        vocab_size = scores.shape[-1]
        if group_start_idx == 0:
            return scores
        scores_processed = scores.clone()
        for batch_idx in range(batch_size):
            previous_group_tokens = current_tokens[
                batch_idx * self._num_beams : batch_idx * self._num_beams + group_start_idx
            ]
            token_frequency = torch.bincount(previous_group_tokens, minlength=vocab_size).to(scores.device)
            scores_processed[batch_idx * group_size : (batch_idx + 1) * group_size] -= (
                self._diversity_penalty * token_frequency
            )
        return scores_processed


class BeamHypotheses:
    """transformers 4.x BeamHypotheses (scores are Python floats)."""

    def __init__(self, num_beams: int, length_penalty: float, early_stopping, max_length: int):
        self.length_penalty = length_penalty
        self.early_stopping = early_stopping
        self.max_length = max_length
        self.num_beams = num_beams
        self.beams = []
        self.worst_score = 1e9

    def __len__(self):
        return len(self.beams)

    def add(self, hyp, sum_logprobs: float, generated_len: int):
        score = sum_logprobs / (generated_len**self.length_penalty)
        if len(self) < self.num_beams or score > self.worst_score:
            self.beams.append((score, hyp))
            if len(self) > self.num_beams:
                sorted_next_scores = sorted([(s, idx) for idx, (s, _) in enumerate(self.beams)])
                del self.beams[sorted_next_scores[0][1]]
                self.worst_score = sorted_next_scores[1][0]
            else:
                self.worst_score = min(score, self.worst_score)

    def is_done(self, best_sum_logprobs: float, cur_len: int, decoder_prompt_len: int) -> bool:
        if len(self) < self.num_beams:
            return False
        if self.early_stopping is True:
            return True
        if self.early_stopping is False or self.length_penalty <= 0.0:
            highest = best_sum_logprobs / (cur_len - decoder_prompt_len) ** self.length_penalty
        else:
            highest = best_sum_logprobs / (self.max_length - decoder_prompt_len) ** self.length_penalty
        return self.worst_score >= highest


class Decoder:
    """BLIP's text decoder on one image's embeddings, rows = beams or one sample row, with the KV cache."""

    def __init__(self, model, image_embeds, rows: int):
        import torch

        self.model = model
        self.embeds = image_embeds.repeat_interleave(rows, dim=0)
        self.embeds_mask = torch.ones(self.embeds.shape[:-1], dtype=torch.long)
        self.cache = None

    def logits(self, input_ids):
        import torch

        inp = input_ids if self.cache is None else input_ids[:, -1:]
        out = self.model.text_decoder(input_ids=inp, attention_mask=torch.ones_like(input_ids),
                                      encoder_hidden_states=self.embeds, encoder_attention_mask=self.embeds_mask,
                                      past_key_values=self.cache, use_cache=True, return_dict=True)
        self.cache = out.past_key_values
        return out.logits[:, -1, :].float()

    def reorder(self, index):
        self.cache.reorder_cache(index)


def prompt_input_ids(processor, prompt: str, bos: int) -> list:
    """As BlipForConditionalGeneration.generate: [CLS] -> [DEC], the last token ([SEP]) dropped."""
    ids = processor.tokenizer(prompt).input_ids if prompt != "" else [bos, 102]
    ids = list(ids)
    ids[0] = bos
    return ids[:-1]


def base_processors(case, prompt_len: int):
    from transformers.generation.logits_process import (LogitsProcessorList, MinNewTokensLengthLogitsProcessor,
                                                        RepetitionPenaltyLogitsProcessor)

    procs = LogitsProcessorList()
    if case["repetition_penalty"] != 1.0:
        procs.append(RepetitionPenaltyLogitsProcessor(penalty=case["repetition_penalty"]))
    # the bundle's min_length is 0: transformers adds no MinLengthLogitsProcessor
    if case["min_new_tokens"] > 0:
        procs.append(MinNewTokensLengthLogitsProcessor(prompt_len, case["min_new_tokens"], 102))
    return procs


def sample(model, embeds, prompt_ids, case):
    import torch
    from transformers.generation.logits_process import TemperatureLogitsWarper

    k = case["num_captions"]
    procs = base_processors(case, len(prompt_ids))
    if case["temperature"] != 1.0:
        procs.append(TemperatureLogitsWarper(case["temperature"]))
    sequences, scores = [], []
    for row in range(k):
        rng = SplitMix64(case["seed"], row)
        dec = Decoder(model, embeds, 1)
        ids = torch.tensor([prompt_ids])
        raw_sum = 0.0
        for generated in range(1, case["max_new_tokens"] + 1):
            logits = dec.logits(ids)
            processed = procs(ids, logits.clone())
            token = nucleus_draw(processed[0].numpy().astype(np.float32), case["top_p"], rng.next_double())
            raw_sum += float(torch.log_softmax(logits[0], dim=-1)[token])
            ids = torch.cat([ids, torch.tensor([[token]])], dim=1)
            if token == 102:
                break
        sequences.append(ids[0].tolist())
        scores.append(raw_sum / (ids.shape[1] - len(prompt_ids)))
    return sequences, scores


def group_beam_search(model, embeds, prompt_ids, case):
    """transformers 4.x `_group_beam_search` + `BeamSearchScorer.process/finalize`, batch of one image."""
    import torch

    k = case["num_captions"]
    num_beams = case.get("num_beams") or k
    groups = k
    gs = num_beams // groups
    prompt_len = len(prompt_ids)
    max_length = prompt_len + case["max_new_tokens"]
    early_stopping = False
    procs = base_processors(case, prompt_len)
    hamming = HammingDiversityLogitsProcessor(case["diversity_penalty"], num_beams, groups)
    hyps = [BeamHypotheses(gs, case["length_penalty"], early_stopping, max_length) for _ in range(groups)]
    done = [False] * groups
    input_ids = torch.tensor([prompt_ids] * num_beams)
    beam_scores = torch.full((num_beams,), -1e9, dtype=torch.float)
    beam_scores[::gs] = 0
    dec = Decoder(model, embeds, num_beams)
    eos = 102
    while True:
        current_tokens = torch.zeros(num_beams, dtype=input_ids.dtype)
        reordering = torch.zeros(num_beams, dtype=torch.long)
        logits = dec.logits(input_ids)
        for g in range(groups):
            start, end = g * gs, (g + 1) * gs
            group_input_ids = input_ids[start:end]
            cur_len = group_input_ids.shape[-1] + 1
            if done[g]:
                beam_scores[start:end] = 0
                beam_next_tokens = torch.zeros(gs, dtype=torch.long)  # pad_token_id 0
                beam_idx = torch.zeros(gs, dtype=torch.long)
            else:
                scores = torch.log_softmax(logits[start:end], dim=-1)
                scores = hamming(group_input_ids, scores, current_tokens=current_tokens, beam_group_idx=g)
                scores = procs(group_input_ids, scores)
                vocab = scores.shape[-1]
                scores = (scores + beam_scores[start:end].unsqueeze(-1)).view(1, gs * vocab)
                top_scores, top_ids = torch.topk(scores, 2 * gs, dim=1, largest=True, sorted=True)
                next_indices = torch.div(top_ids, vocab, rounding_mode="floor")[0]
                next_tokens = (top_ids % vocab)[0]
                next_beam_scores = torch.zeros(gs, dtype=torch.float)
                beam_next_tokens = torch.zeros(gs, dtype=torch.long)
                beam_idx = torch.zeros(gs, dtype=torch.long)
                filled = 0
                for rank, (tok, score, idx) in enumerate(zip(next_tokens, top_scores[0], next_indices)):
                    if int(tok) == eos:
                        if rank >= gs:
                            continue
                        hyp = group_input_ids[int(idx)].tolist() + [eos]
                        hyps[g].add(hyp, score.item(), cur_len - prompt_len)
                    else:
                        next_beam_scores[filled] = score
                        beam_next_tokens[filled] = tok
                        beam_idx[filled] = idx
                        filled += 1
                    if filled == gs:
                        break
                done[g] = done[g] or hyps[g].is_done(top_scores[0].max().item(), cur_len, prompt_len)
                beam_scores[start:end] = next_beam_scores
            input_ids[start:end] = group_input_ids[beam_idx]
            current_tokens[start:end] = beam_next_tokens
            reordering[start:end] = start + beam_idx
        input_ids = torch.cat([input_ids, current_tokens.unsqueeze(-1)], dim=-1)
        dec.reorder(reordering)
        if all(done) or input_ids.shape[-1] >= max_length:
            break
    candidates = []
    for g in range(groups):
        if not done[g]:
            for j in range(gs):
                row = input_ids[g * gs + j]
                hyps[g].add(row.tolist(), beam_scores[g * gs + j].item(), row.shape[-1] - prompt_len)
        candidates.extend(hyps[g].beams)
    ranked = sorted(candidates, key=lambda x: x[0])
    best = [ranked.pop() for _ in range(k)]
    return [b[1] for b in best], [b[0] for b in best]


def greedy_loop(model, embeds, prompt_ids, max_new):
    import torch

    dec = Decoder(model, embeds, 1)
    ids = torch.tensor([prompt_ids])
    for _ in range(max_new):
        token = int(dec.logits(ids)[0].argmax())
        ids = torch.cat([ids, torch.tensor([[token]])], dim=1)
        if token == 102:
            break
    return ids[0].tolist()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--pixels", nargs="+", required=True)
    ap.add_argument("--cases", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import warnings

    warnings.filterwarnings("ignore")
    import torch
    import transformers
    from transformers import BlipForConditionalGeneration, BlipProcessor

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    torch.set_num_threads(2)
    hf = Path(args.bundle).resolve() / "hf"
    model = BlipForConditionalGeneration.from_pretrained(str(hf)).eval()
    processor = BlipProcessor.from_pretrained(str(hf))
    bos = model.config.text_config.bos_token_id
    cases = [{**DEFAULTS, **c} for c in json.loads(Path(args.cases).read_text())]
    size = model.config.vision_config.image_size
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    images = []
    check = {"equal": 0, "total": 0}
    with torch.no_grad():
        for path in args.pixels:
            pv = torch.from_numpy(np.fromfile(path, dtype="<f4").reshape(1, 3, size, size).copy())
            embeds = model.vision_model(pixel_values=pv)[0]
            for prompt in sorted({c["prompt"] for c in cases}):
                enc = {} if prompt == "" else {"input_ids": processor.tokenizer(prompt, return_tensors="pt").input_ids}
                ref = model.generate(pixel_values=pv, num_beams=1, do_sample=False, **enc)[0].tolist()
                ours = greedy_loop(model, embeds, prompt_input_ids(processor, prompt, bos), 20)
                check["total"] += 1
                check["equal"] += int(ref == ours)
            results = []
            for i, case in enumerate(cases):
                prompt_ids = prompt_input_ids(processor, case["prompt"], bos)
                run = sample if case["decoding"] == "sample" else group_beam_search
                sequences, scores = run(model, embeds, prompt_ids, case)
                results.append({"case": i, "sequences": sequences, "scores": scores})
            images.append({"pixels": path, "results": results})
    doc = {"tool": "reference_decoding.py",
           "versions": {"python": platform.python_version(), "torch": torch.__version__,
                        "transformers": transformers.__version__, "numpy": np.__version__},
           "cases": cases, "harness_check": check, "images": images, "elapsed_s": round(time.time() - t0, 3)}
    tmp = out / "reference.json.tmp"
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(out / "reference.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
