"""Benchmark (prints figures; not a test): the recall a two-level shipped index can reach on the
bench's synthetic vectors (bench/shipped.mjs's generator: `C` topic centres of N(0, 1), each
vector its centre plus 0.6 N(0, 1), normalised), simulated in torch without building files.
Top k-means on a sample, a k-means of about R rows per partition inside each top cell, then per
query: the B nearest blocks, their partitions by centroid score within a byte budget (int8 rows
of 396 bytes, blocks of 404 bytes per partition), recall@10 against exact search.

    ~/.cache/webembed/torch-venv/bin/python bench/ivf-simulation.py ROWS TOP ROWS_PER_PARTITION BLOCKS

Figures it gave (2026-12-07): 200 000 rows, 400 / 100 / 8: recall 1.000 at 220 KB; 200 / 83 / 4:
0.831; 1 000 000 rows, 1000 / 100 / 8: 1.000 at 235 KB; 5 000 000 rows, 1000 / 200 / 4: 0.28 —
at 5 million a topic holds 2 500 near-equidistant vectors, about 1 MB of int8 rows, so the
300 KB bar there needs more compact partition codes with exact rescoring, not only two levels.
"""
import torch, time, sys
