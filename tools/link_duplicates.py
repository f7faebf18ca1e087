"""Stores each distinct fixture file once: every file under a folder that repeats an earlier one
byte for byte (in sorted path order) becomes a relative symlink to that first copy. The tiny
models share tokenizers, configs and weights across their layouts and pooling variants.

    python3 tools/link_duplicates.py tests/fixtures/tiny/models

Needs only the standard library; tools/make_tiny_models.py calls it after writing the models.
"""

import hashlib
import os
import pathlib
import sys


def link_duplicates(root):
    root = pathlib.Path(root)
    first = {}
    linked = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in first:
            path.unlink()
            os.symlink(os.path.relpath(first[digest], path.parent), path)
            linked += 1
        else:
            first[digest] = path
    return linked


if __name__ == "__main__":
    for folder in sys.argv[1:] or ["tests/fixtures/tiny/models"]:
        print(f"{folder}: {link_duplicates(folder)} duplicate files now link to their first copy")
