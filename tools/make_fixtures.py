"""Writes reference token ids and embeddings computed by sentence-transformers for the committed
test texts, with the tool versions, so tests compare webembed against the real thing without torch.

    python tools/make_fixtures.py MODEL_FOLDER OUTPUT_JSON [--texts tests/fixtures/texts.json]

Needs torch, transformers and sentence-transformers (see tools/requirements.txt).
"""
import argparse
import json
import pathlib

import sentence_transformers
import tokenizers
import torch
import transformers
from sentence_transformers import SentenceTransformer

# Texts also embedded with an explicit prompt, as e5 models are used.
PROMPTED = [
    ("query: ", "how big is the sun?"),
    ("passage: ", "The Sun is the star at the centre of the Solar System."),
    ("query: ", "how much protein should a female eat"),
    ("passage: ", "As a general guideline, the CDC's average requirement of protein for women ages 19 to 70 is 46 grams per day."),
    ("query: ", ""),
]


def reference(model, text, prompt):
    features = model.preprocess([prompt + text if prompt else text])
    ids = features["input_ids"][0].tolist()
    embedding = model.encode([text], prompt=prompt, batch_size=1, convert_to_numpy=True)[0]
    return {"text": text, "prompt": prompt, "ids": ids, "embedding": [float(f"{v:.9g}") for v in embedding]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("output")
    parser.add_argument("--texts", default=str(pathlib.Path(__file__).resolve().parent.parent / "tests/fixtures/texts.json"))
    parser.add_argument("--prompted", action="store_true", help="also write the e5-style prompted cases")
    args = parser.parse_args()

    torch.manual_seed(0)
    model = SentenceTransformer(args.model, device="cpu")
    texts = json.loads(pathlib.Path(args.texts).read_text(encoding="utf-8"))
    cases = [reference(model, text, None) for text in texts]
    if args.prompted:
        cases += [reference(model, text, prompt) for prompt, text in PROMPTED]
    out = {
        "model": pathlib.Path(args.model).name,
        "dimension": model.get_embedding_dimension(),
        "max_seq_length": model.max_seq_length,
        "versions": {
            "sentence_transformers": sentence_transformers.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
            "torch": torch.__version__,
        },
        "cases": cases,
    }
    pathlib.Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(args.output).write_text(json.dumps(out, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(cases)} cases to {args.output}")


if __name__ == "__main__":
    main()
