"""Writes tests/fixtures/ir-evaluation.json: a small labelled retrieval set and the metrics
sentence-transformers' InformationRetrievalEvaluator reports for it with all-MiniLM-L6-v2, plus
each query's ranked corpus ids (so the metric arithmetic can be checked without a model).

    python tools/make_ir_fixture.py models/all-MiniLM-L6-v2

Needs torch and sentence-transformers (tools/requirements.txt); tests never run this.
"""

import json
import sys
from pathlib import Path

import sentence_transformers
import torch
import transformers
from sentence_transformers import SentenceTransformer
from sentence_transformers.evaluation import InformationRetrievalEvaluator

CORPUS = {
    "sun1": "The Sun is the star at the centre of the Solar System.",
    "sun2": "The Sun's diameter is about 109 times that of Earth.",
    "moon1": "The Moon is Earth's only natural satellite.",
    "moon2": "The Moon's gravity causes the tides of the oceans.",
    "mars1": "Mars is the fourth planet from the Sun, known as the red planet.",
    "mars2": "Olympus Mons on Mars is the tallest volcano in the Solar System.",
    "bread1": "Bread is made by baking a dough of flour and water.",
    "bread2": "Sourdough bread rises with wild yeast and lactic acid bacteria.",
    "coffee1": "Coffee is brewed from roasted coffee beans.",
    "coffee2": "Espresso is made by forcing hot water through finely ground coffee.",
    "tea1": "Green tea is made from unoxidized leaves of Camellia sinensis.",
    "python1": "Python is a programming language that emphasizes readability.",
    "python2": "Python lists can be sorted in place with the sort method.",
    "rust1": "Rust guarantees memory safety without a garbage collector.",
    "rust2": "Cargo is the build system and package manager for Rust.",
    "wasm1": "WebAssembly runs near-native code inside the browser sandbox.",
    "wasm2": "WebAssembly SIMD adds 128-bit vector instructions.",
    "js1": "JavaScript is the scripting language of the web.",
    "dog1": "Dogs were domesticated from wolves thousands of years ago.",
    "dog2": "A puppy needs several meals a day and plenty of sleep.",
    "cat1": "Cats spend much of the day sleeping and grooming.",
    "horse1": "A man is riding a horse along the beach.",
    "football1": "Football is played by two teams of eleven players.",
    "tennis1": "A tennis match is won by the player who wins the most sets.",
    "piano1": "The piano has 88 keys, 52 white and 36 black.",
    "guitar1": "A classical guitar has six nylon strings.",
    "paris1": "Paris is the capital and largest city of France.",
    "tokyo1": "Tokyo is the capital of Japan and its most populous city.",
    "rain1": "Rain forms when water droplets in clouds grow heavy enough to fall.",
    "snow1": "Snowflakes form when water vapour freezes onto dust in cold clouds.",
}

QUERIES = {
    "q1": "How big is the sun?",
    "q2": "what causes ocean tides",
    "q3": "tallest volcano",
    "q4": "how do you make bread",
    "q5": "how is espresso made",
    "q6": "memory safe systems programming language",
    "q7": "running fast code in a web browser",
    "q8": "how much should a young dog eat",
    "q9": "capital of France",
    "q10": "how many keys does a piano have",
    "q11": "why does it rain",
    "q12": "which planet is red",
    "q13": "a query with no relevant passage",
    "q14": "sports played outdoors",
}

# Some labels are loose on purpose (a weakly related passage marked relevant), so the metrics
# land between 0 and 1 and exercise every formula.
RELEVANT = {
    "q1": ["sun2", "sun1", "mars1"],
    "q2": ["moon2", "moon1", "rain1"],
    "q3": ["mars2"],
    "q4": ["bread1", "bread2", "coffee1"],
    "q5": ["coffee2", "coffee1", "tea1"],
    "q6": ["rust1", "rust2", "python1"],
    "q7": ["wasm1", "wasm2", "js1", "python2"],
    "q8": ["dog2", "dog1", "cat1"],
    "q9": ["paris1", "tokyo1"],
    "q10": ["piano1", "guitar1"],
    "q11": ["rain1", "snow1", "moon2"],
    "q12": ["mars1", "mars2", "sun1"],
    "q14": ["tennis1", "horse1", "football1"],
}

CUTOFFS = [1, 3, 5, 10]


def main(model_dir: str) -> None:
    model = SentenceTransformer(model_dir, device="cpu")
    evaluator = InformationRetrievalEvaluator(
        queries=QUERIES,
        corpus=CORPUS,
        relevant_docs={q: set(ids) for q, ids in RELEVANT.items()},
        mrr_at_k=CUTOFFS,
        ndcg_at_k=CUTOFFS,
        accuracy_at_k=CUTOFFS,
        precision_recall_at_k=CUTOFFS,
        map_at_k=CUTOFFS,
        name="fixture",
    )
    results = evaluator(model)
    metrics = {name: {} for name in ["accuracy", "precision", "recall", "mrr", "ndcg", "map"]}
    for key, value in results.items():
        # e.g. "fixture_cosine_ndcg@10"
        if "_cosine_" not in key:
            continue
        metric, k = key.split("_cosine_")[1].split("@")
        metric = {"precision": "precision", "recall": "recall", "accuracy": "accuracy", "mrr": "mrr", "ndcg": "ndcg", "map": "map"}[metric]
        metrics[metric][k] = float(value)

    corpus_ids = list(CORPUS)
    corpus_vectors = model.encode([CORPUS[c] for c in corpus_ids], convert_to_tensor=True, normalize_embeddings=True)
    ranked = {}
    for qid, text in QUERIES.items():
        query = model.encode([text], convert_to_tensor=True, normalize_embeddings=True)
        scores = (query @ corpus_vectors.T)[0]
        order = torch.argsort(scores, descending=True).tolist()[: max(CUTOFFS)]
        ranked[qid] = [corpus_ids[i] for i in order]

    out = {
        "model": "all-MiniLM-L6-v2",
        "versions": {
            "sentence_transformers": sentence_transformers.__version__,
            "transformers": transformers.__version__,
            "torch": torch.__version__,
        },
        "queries": QUERIES,
        "corpus": CORPUS,
        "relevant": RELEVANT,
        "cutoffs": CUTOFFS,
        "metrics": metrics,
        "ranked": ranked,
    }
    path = Path(__file__).resolve().parent.parent / "tests/fixtures/ir-evaluation.json"
    path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {path}")
    print(json.dumps(metrics, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
