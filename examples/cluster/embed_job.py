"""Embeds a corpus with sentence-transformers on a Ray cluster and writes Parquet parts that
`npx webembed index --parquet` turns into a shipped index.

    python examples/cluster/embed_job.py --corpus examples/cluster/corpus.jsonl \
        --model models/all-MiniLM-L6-v2 --out build/cluster/parts [--actors 2]

Without RAY_ADDRESS it starts Ray in local mode on this machine; with RAY_ADDRESS set (or
`ray job submit`), the same code runs on the cluster: the corpus and the output folder are then
paths every node reaches (s3://, gs://, a shared file system). Each actor loads the model once
and embeds batches of rows; the parts hold the columns webembed reads by default: id, vector
(list<float32>, as SentenceTransformer.encode gives it), text, url, title and metadata.
"""
import argparse
import os

import pyarrow as pa
import pyarrow.dataset
import ray
from sentence_transformers import SentenceTransformer


class Embed:
    """One model per actor: loading it per batch would dominate the job."""

    def __init__(self, model):
        self.model = SentenceTransformer(model, device="cpu")

    def __call__(self, batch: pa.Table) -> pa.Table:
        texts = batch.column("text").to_pylist()
        # The model's own modules decide pooling and normalisation, as they will for webembed's
        # queries: the vectors are the ones sentence-transformers gives anywhere.
        vectors = self.model.encode(texts, batch_size=32, convert_to_numpy=True)
        return batch.append_column("vector", pa.array(list(vectors), type=pa.list_(pa.float32())))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", required=True, help="JSONL: id, text, and optionally title, url, metadata")
    parser.add_argument("--model", required=True, help="a sentence-transformers model folder or hub id")
    parser.add_argument("--out", required=True, help="the folder the Parquet parts go to")
    parser.add_argument("--actors", type=int, default=2, help="embedding actors (one model each)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rows-per-part", type=int, default=None, help="at most this many rows per Parquet part; default: Ray decides")
    args = parser.parse_args()

    if "RAY_ADDRESS" not in os.environ:
        # One CPU per actor, and one more for the tasks that read the corpus and write the parts:
        # with every CPU held by an actor, the reads would wait forever.
        ray.init(num_cpus=args.actors + 1, include_dashboard=False, log_to_driver=False)
    dataset = ray.data.read_json(os.path.abspath(args.corpus))
    embedded = dataset.map_batches(
        Embed,
        fn_constructor_args=(os.path.abspath(args.model) if os.path.isdir(args.model) else args.model,),
        batch_format="pyarrow",
        batch_size=args.batch_size,
        compute=ray.data.ActorPoolStrategy(size=args.actors),
        num_cpus=1,
    )
    # Overwrite: appending (Ray's default) would leave a rerun's rows twice in the folder.
    embedded.write_parquet(os.path.abspath(args.out), max_rows_per_file=args.rows_per_part, mode="overwrite")
    # Counted from the parts' footers: counting the dataset would run the embedding again.
    written = pyarrow.dataset.dataset(os.path.abspath(args.out), format="parquet")
    print(f"wrote {written.count_rows()} rows in {len(written.files)} Parquet parts to {args.out}")


if __name__ == "__main__":
    main()
