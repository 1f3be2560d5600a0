"""Tokenizer reference for the parity suite: BlipProcessor's own encode/decode on a corpus of texts.

usage: python tokenizer_reference.py BUNDLE_DIR < texts.json > out.json

Reads a JSON object {"texts": [...], "id_lists": [[...], ...]} on stdin. For each text, the ids
`processor.tokenizer(text)` gives (with [CLS]/[SEP], as BlipForConditionalGeneration.generate receives a
prompt) and `processor.decode(ids, skip_special_tokens=True)` of them; for each id list, its decode.
Offline: loads DIR/hf only.
"""

import json
import os
import sys
from pathlib import Path


def main() -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers import BlipProcessor

    bundle = Path(sys.argv[1])
    processor = BlipProcessor.from_pretrained(str(bundle / "hf"))
    request = json.load(sys.stdin)
    texts = []
    for text in request["texts"]:
        ids = processor.tokenizer(text)["input_ids"]
        texts.append(
            {"text": text, "ids": ids, "decoded": processor.decode(ids, skip_special_tokens=True)}
        )
    decodes = [processor.decode(ids, skip_special_tokens=True) for ids in request["id_lists"]]
    json.dump({"texts": texts, "decodes": decodes}, sys.stdout, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
