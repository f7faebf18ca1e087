"""Writes the vector files the shipped-index tests read (tests/fixtures/shipped/vectors/): what a
cluster job that embedded documents elsewhere hands webembed. Parquet through pyarrow (what Spark,
Ray and pandas write: a list<float> or, from pandas, list<double> column), NumPy .npy through
numpy, and the bad cases (wrong dtype, shape, NaN, dimension). Seeded unit vectors: the tests
search by a stored row's vector, so only the files' reading is at stake, not the model.

    python tools/make_vector_fixtures.py        (pip install pyarrow numpy; versions recorded in README.txt)
"""
import json
import pathlib

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests/fixtures/shipped/vectors"
DIMENSION = 384

# 10 documents; "manual" has three chunks (three consecutive lines): 12 rows.
LINES = []
for i in range(10):
    if i == 4:
        for part in range(3):
            LINES.append({"id": "manual", "text": f"manual part {part}: installing, configuring and upgrading the server", "url": f"/manual#{part}"})
        continue
    LINES.append({"id": f"doc-{i}", "text": f"document {i} about {['cats', 'trains', 'rivers', 'bread', 'stars'][i % 5]}", "metadata": {"n": i}, "url": f"/doc/{i}"})


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20261206)
    vectors = rng.standard_normal((len(LINES), DIMENSION)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    (OUT / "documents.jsonl").write_text("".join(json.dumps(line) + "\n" for line in LINES))
    (OUT / "documents-no-text.jsonl").write_text("".join(json.dumps({"id": line["id"], "url": line["url"]}) + "\n" for line in LINES))
    np.save(OUT / "vectors.npy", vectors)
    np.save(OUT / "vectors-f64.npy", vectors.astype(np.float64))
    np.save(OUT / "bad-int.npy", (vectors * 100).astype(np.int32))
    np.save(OUT / "bad-shape.npy", vectors.reshape(len(LINES), DIMENSION, 1))
    np.save(OUT / "bad-dimension.npy", vectors[:, :256].copy())
    nan = vectors.copy()
    nan[7, 3] = np.nan
    np.save(OUT / "bad-nan.npy", nan)
    ids = pa.array([line["id"] for line in LINES])
    pq.write_table(pa.table({"id": ids, "embedding": pa.array(list(vectors), type=pa.list_(pa.float32()))}), OUT / "vectors.parquet")
    pq.write_table(pa.table({"id": ids, "embedding": pa.array([v.astype(np.float64) for v in vectors], type=pa.list_(pa.float64()))}), OUT / "vectors-f64.parquet")
    pq.write_table(pa.table({"id": ids, "embedding": pa.array([(v * 100).astype(np.int64) for v in vectors], type=pa.list_(pa.int64()))}), OUT / "bad-int.parquet")
    pq.write_table(pa.table({"id": ids, "embedding": pa.array(list(nan), type=pa.list_(pa.float32()))}), OUT / "bad-nan.parquet")
    (OUT / "README.txt").write_text(f"Written by tools/make_vector_fixtures.py with numpy {np.__version__}, pyarrow {pa.__version__}.\n")


if __name__ == "__main__":
    main()
