"""Builds small random-weight cross-encoder rerankers (BERT and XLM-RoBERTa sequence
classification, one label and several, the Hugging Face layout and sentence-transformers 6's
modular layout) with the tokenizers of the tiny embedding models, plus reference token ids,
scores and rankings from sentence-transformers' CrossEncoder itself.

    python tools/make_tiny_rerankers.py         # writes tests/fixtures/tiny/rerankers/ and rerank-references/

Run tools/make_tiny_models.py first (its tokenizers are reused). Weights are stored as F16
safetensors holding float16-exact values, so the references computed in float32 stay exact.
Needs torch, transformers, sentence-transformers (tools/requirements.txt).
"""
import json
import pathlib
import shutil
import sys

import sentence_transformers
import tokenizers
import torch
import transformers
from sentence_transformers import CrossEncoder

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from link_duplicates import link_duplicates  # noqa: E402
from make_tiny_models import HEADS, HIDDEN, INTERMEDIATE, LAYERS, OUT, randomize, to_f16  # noqa: E402
from texts_source import TEXTS  # noqa: E402

MODELS = OUT / "models"
RERANKERS = OUT / "rerankers"
LONG = " ".join(t for t in TEXTS[:12] if t.strip())

# name, architecture, tokenizer source folder, labels, layout, activation written by the folder
# (None: the default sentence-transformers picks), max length (None: the tokenizer's)
SPECS = [
    ("bert-1label", "bert", "e5-small-v2-like", 1, "hf", None, None),
    ("bert-3label-st6", "bert", "e5-small-v2-like", 3, "st6", None, 48),
    ("xlmr-1label-identity", "xlmr", "xlmr-minilm-nonorm-like", 1, "hf", "torch.nn.modules.linear.Identity", None),
    ("xlmr-2label-st6", "xlmr", "xlmr-minilm-nonorm-like", 2, "st6", "torch.nn.modules.activation.Sigmoid", 40),
]


def classifier(architecture, tokenizer, labels, seed):
    common = dict(vocab_size=len(tokenizer), hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                  intermediate_size=INTERMEDIATE, hidden_act="gelu", pad_token_id=tokenizer.pad_token_id, num_labels=labels)
    if architecture == "bert":
        config = transformers.BertConfig(max_position_embeddings=512, type_vocab_size=2, layer_norm_eps=1e-12, **common)
        model = transformers.BertForSequenceClassification(config)
    else:
        config = transformers.XLMRobertaConfig(max_position_embeddings=514, type_vocab_size=1, layer_norm_eps=1e-5,
                                               bos_token_id=0, eos_token_id=2, **common)
        model = transformers.XLMRobertaForSequenceClassification(config)
    torch.manual_seed(seed)
    randomize(model, seed)
    model.eval()
    return model


def pairs():
    texts = [t for t in TEXTS if t.strip()]
    out = [(texts[i], texts[(i * 7 + 3) % len(texts)]) for i in range(len(texts))]
    out += [("How big is the sun?", LONG), (LONG, "A man is eating food."), (LONG, LONG[::-1]), ("", "empty query"), ("x", "")]
    return out


def build(name, architecture, source, labels, layout, activation, max_length, seed):
    folder = RERANKERS / name
    shutil.rmtree(folder, ignore_errors=True)
    tokenizer = transformers.AutoTokenizer.from_pretrained(MODELS / source)
    if max_length is not None:
        tokenizer.model_max_length = max_length
    model = classifier(architecture, tokenizer, labels, seed)
    if layout == "hf":
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        if activation is not None:
            config = json.loads((folder / "config.json").read_text())
            config["sentence_transformers"] = {"activation_fn": activation, "version": "4.0.0"}
            (folder / "config.json").write_text(json.dumps(config, indent=2))
    else:
        staging = RERANKERS / f"_{name}"
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        act = None if activation is None else sentence_transformers.util.import_from_string(activation)()
        CrossEncoder(str(staging), device="cpu", activation_fn=act).save_pretrained(str(folder))
        shutil.rmtree(staging)
        (folder / "README.md").unlink(missing_ok=True)
    to_f16(folder)


def reference(name):
    folder = RERANKERS / name
    ce = CrossEncoder(str(folder), device="cpu", model_kwargs={"dtype": torch.float32})
    cases = []
    for first, second in pairs():
        features = ce.preprocess([(first, second)])
        score = ce.predict([(first, second)], batch_size=1, convert_to_numpy=True)[0]
        values = score.tolist() if hasattr(score, "tolist") else float(score)
        cases.append({"pair": [first, second], "ids": features["input_ids"][0].tolist(),
                      "type_ids": features.get("token_type_ids", features["input_ids"])[0].tolist() if "token_type_ids" in features else None,
                      "score": values})
    query = "A man is eating food."
    documents = [t for t in TEXTS[:12] if t.strip()]
    # CrossEncoder.rank is defined for one label only.
    ranked = ce.rank(query, documents) if ce.num_labels == 1 else []
    batched = ce.predict(pairs(), batch_size=8, convert_to_numpy=True).tolist()
    return {
        "model": name,
        "num_labels": ce.num_labels,
        "activation": type(ce.activation_fn).__name__,
        "max_length": ce.max_seq_length,
        "versions": {"sentence_transformers": sentence_transformers.__version__, "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__, "torch": torch.__version__},
        "cases": cases,
        "batched_scores": batched,
        "rank": {"query": query, "documents": documents, "result": [{"index": int(r["corpus_id"]), "score": float(r["score"])} for r in ranked]},
    }


def main():
    RERANKERS.mkdir(parents=True, exist_ok=True)
    refs = OUT / "rerank-references"
    refs.mkdir(exist_ok=True)
    for seed, spec in enumerate(SPECS, start=21):
        build(*spec, seed)
        name = spec[0]
        (refs / f"{name}.json").write_text(json.dumps(reference(name), ensure_ascii=False) + "\n")
        print("reranker", name)
    link_duplicates(RERANKERS)


if __name__ == "__main__":
    main()
