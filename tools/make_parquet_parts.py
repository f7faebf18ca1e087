"""Writes the Parquet parts the `webembed index --parquet` tests read (tests/fixtures/shipped/parts/):
a folder as a distributed job leaves it (Ray Data, Spark: several parts, `_SUCCESS`, `.crc`
files), in every list layout those writers use (list<float> with the child field `element`,
list<double> with `item`, fixed_size_list<float>), several row groups, a document's chunks on
consecutive rows; the same data under other column names; and the lying parts (wrong types, a part
of another dimension, NaN, a duplicate id, bad metadata, row counts claimed past what is stored).
Seeded unit vectors: the tests search by a stored row's vector, so only the reading is at stake.

    ~/.cache/webembed/tools-venv/bin/python tools/make_parquet_parts.py   (pyarrow, fastparquet, numpy)
"""
import json
import pathlib
import shutil

import fastparquet
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from link_duplicates import link_duplicates

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests/fixtures/shipped/parts"
DIMENSION = 384
TOPICS = ["cats sleeping in the sun", "trains crossing the alps", "rivers flooding in spring", "bread rising overnight", "stars seen through a telescope"]


def rows():
    """12 documents over 14 rows: "manual" has three chunks on consecutive rows."""
    out = []
    for i in range(12):
        if i == 5:
            for part in range(3):
                out.append({"id": "manual", "text": f"manual part {part}: installing, configuring and upgrading the server", "url": f"/manual#{part}", "title": "Manual", "metadata": json.dumps({"part": part})})
            continue
        out.append({"id": f"doc-{i}", "text": f"document {i} about {TOPICS[i % 5]}", "url": f"/doc/{i}", "title": f"Doc {i}", "metadata": json.dumps({"n": i})})
    return out


def table(records, vectors, vector_type, names=None):
    names = names or {}
    columns = {
        names.get("id", "id"): pa.array([r["id"] for r in records]),
        names.get("vector", "vector"): pa.array(list(vectors), type=vector_type),
        names.get("text", "text"): pa.array([r["text"] for r in records]),
        names.get("url", "url"): pa.array([r["url"] for r in records]),
        names.get("title", "title"): pa.array([r["title"] for r in records]),
        names.get("metadata", "metadata"): pa.array([r["metadata"] for r in records]),
    }
    return pa.table(columns)


def forge_row_count(path, claimed):
    """Rewrites a part's footer so that it claims `claimed` rows (file and row group) over the same pages."""
    data = path.read_bytes()
    footer_length = int.from_bytes(data[-8:-4], "little")
    metadata = fastparquet.ParquetFile(str(path)).fmd
    metadata.num_rows = claimed
    for group in metadata.row_groups:
        group.num_rows = claimed
    footer = metadata.to_bytes()
    path.write_bytes(data[: len(data) - 8 - footer_length] + footer + len(footer).to_bytes(4, "little") + b"PAR1")


def main():
    if OUT.exists():
        shutil.rmtree(OUT)
    rng = np.random.default_rng(20261207)
    records = rows()
    vectors = rng.standard_normal((len(records), DIMENSION)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    cuts = [(0, 6), (6, 10), (10, len(records))]

    good = OUT / "job"
    good.mkdir(parents=True)
    # Part 0: what pyarrow and Spark write (list<float>, child `element`), two rows per row group.
    a, b = cuts[0]
    pq.write_table(table(records[a:b], vectors[a:b], pa.list_(pa.float32())), good / "part-00000.parquet", row_group_size=2)
    # Part 1: list<double> with the child `item` (older pyarrow, pandas float64 lists).
    a, b = cuts[1]
    pq.write_table(table(records[a:b], vectors[a:b].astype(np.float64), pa.list_(pa.float64())), good / "part-00001.parquet", use_compliant_nested_type=False)
    # Part 2: a fixed-size list, snappy-free (zstd), as Ray Data writes tensors it was told the shape of.
    a, b = cuts[2]
    pq.write_table(table(records[a:b], vectors[a:b], pa.list_(pa.float32(), DIMENSION)), good / "part-00002.parquet", compression="zstd")
    (good / "_SUCCESS").write_bytes(b"")
    (good / ".part-00000.parquet.crc").write_bytes(b"crc")
    np.save(OUT / "vectors.npy", vectors)

    names = {"id": "doc_id", "vector": "embedding", "text": "body", "url": "link", "title": "heading", "metadata": "meta"}
    other = OUT / "other-names"
    other.mkdir()
    pq.write_table(table(records, vectors, pa.list_(pa.float32()), names), other / "part-0.parquet")

    def hostile(name, records_, vectors_, vector_type=pa.list_(pa.float32()), **kwargs):
        folder = OUT / "hostile" / name
        folder.mkdir(parents=True)
        pq.write_table(table(records[:6], vectors[:6], pa.list_(pa.float32())), folder / "part-0.parquet")
        pq.write_table(table(records_, vectors_, vector_type, **kwargs), folder / "part-1.parquet")
        return folder / "part-1.parquet"

    later = records[6:10]
    hostile("int-vectors", later, (vectors[6:10] * 100).astype(np.int64), pa.list_(pa.int64()))
    hostile("other-dimension", later, vectors[6:10, :128], pa.list_(pa.float32()))
    nan = vectors[6:10].copy()
    nan[2, 5] = np.nan
    hostile("nan", later, nan)
    duplicate = [dict(r) for r in later]
    duplicate[1]["id"] = "doc-1"
    hostile("duplicate-id", duplicate, vectors[6:10])
    bad_metadata = [dict(r) for r in later]
    bad_metadata[3]["metadata"] = "{not json"
    hostile("bad-metadata", bad_metadata, vectors[6:10])
    ragged = [v for v in vectors[6:10]]
    ragged[1] = ragged[1][:200]
    hostile("ragged", later, ragged)
    folder = OUT / "hostile" / "string-vectors"
    folder.mkdir(parents=True)
    strings = table(later, vectors[6:10], pa.list_(pa.float32())).set_column(1, "vector", pa.array([json.dumps(v.tolist()[:4]) for v in vectors[6:10]]))
    pq.write_table(strings, folder / "part-0.parquet")
    folder = OUT / "hostile" / "no-id"
    folder.mkdir(parents=True)
    pq.write_table(table(later, vectors[6:10], pa.list_(pa.float32())).drop_columns(["id"]), folder / "part-0.parquet")
    forge_row_count(hostile("billion-rows", later, vectors[6:10]), 10**9)
    link_duplicates(OUT)
    (OUT / "README.txt").write_text(f"Written by tools/make_parquet_parts.py with numpy {np.__version__}, pyarrow {pa.__version__}, fastparquet {fastparquet.__version__}.\n")


if __name__ == "__main__":
    main()
