"""Writes the fuzz seed corpus (crate/fuzz/seeds/<target>/) from the committed tiny fixtures.

Standard library only. Run from the repository root: python3 tools/make_fuzz_seeds.py
Seeds are small valid inputs, so the fuzzer starts deep inside each parser instead of at its
first magic-number check.
"""
import collections
import io
import json
import pathlib
import pickle
import struct
import sys
import types
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
TINY = ROOT / "tests/fixtures/tiny"
SEEDS = ROOT / "crate/fuzz/seeds"
SEP = b"\xff"  # the targets split their input at 0xFF, which UTF-8 JSON never holds

# The tiny encoder the safetensors and pytorch_bin targets check tensors against
# (webembed::fuzzing: hidden 4, intermediate 8, vocab 8, 8 positions).
HIDDEN, INNER, VOCAB, POSITIONS = 4, 8, 8, 8


def tensors():
    shapes = {
        "embeddings.word_embeddings.weight": [VOCAB, HIDDEN],
        "embeddings.position_embeddings.weight": [POSITIONS, HIDDEN],
        "embeddings.token_type_embeddings.weight": [2, HIDDEN],
        "embeddings.LayerNorm.weight": [HIDDEN],
        "embeddings.LayerNorm.bias": [HIDDEN],
    }
    p = "encoder.layer.0"
    for name, out, inp in [("attention.self.query", HIDDEN, HIDDEN), ("attention.self.key", HIDDEN, HIDDEN),
                           ("attention.self.value", HIDDEN, HIDDEN), ("attention.output.dense", HIDDEN, HIDDEN),
                           ("intermediate.dense", INNER, HIDDEN), ("output.dense", HIDDEN, INNER)]:
        shapes[f"{p}.{name}.weight"] = [out, inp]
        shapes[f"{p}.{name}.bias"] = [out]
    for norm in ["attention.output.LayerNorm", "output.LayerNorm"]:
        shapes[f"{p}.{norm}.weight"] = [HIDDEN]
        shapes[f"{p}.{norm}.bias"] = [HIDDEN]
    return shapes


def count(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def values(n, seed):
    return [((i * 37 + seed * 11) % 17 - 8) / 16.0 for i in range(n)]


def safetensors(dtype):
    fmt, size = {"F32": ("<f", 4), "F16": ("<e", 2)}[dtype]
    header, data = {}, bytearray()
    for k, (name, shape) in enumerate(tensors().items()):
        raw = b"".join(struct.pack(fmt, v) for v in values(count(shape), k))
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + bytes(data)


def fake_torch():
    """Just enough of torch's names for pickle to write what torch.save writes."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    class FloatStorage:
        pass

    def _rebuild_tensor_v2(*args):
        raise NotImplementedError

    FloatStorage.__module__, FloatStorage.__qualname__ = "torch", "FloatStorage"
    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    torch.FloatStorage, utils._rebuild_tensor_v2 = FloatStorage, _rebuild_tensor_v2
    sys.modules["torch"], sys.modules["torch._utils"] = torch, utils
    return torch, utils


class StorageRef:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


class Tensor:
    def __init__(self, storage, shape):
        self.storage, self.shape = storage, shape

    def __reduce__(self):
        stride, step = [], 1
        for d in reversed(self.shape):
            stride.insert(0, step)
            step *= d
        return (UTILS._rebuild_tensor_v2, (self.storage, 0, tuple(self.shape), tuple(stride), False, collections.OrderedDict()))


def torch_pickle():
    state, storages = collections.OrderedDict(), {}
    for k, (name, shape) in enumerate(tensors().items()):
        key = str(k)
        storages[key] = b"".join(struct.pack("<f", v) for v in values(count(shape), k))
        state[name] = Tensor(StorageRef(key, count(shape)), shape)
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=2)
    pickler.persistent_id = lambda obj: ("storage", TORCH.FloatStorage, obj.key, "cpu", obj.numel) if isinstance(obj, StorageRef) else None
    pickler.dump(state)
    return buffer.getvalue(), storages


def pytorch_bin(pkl, storages):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pkl)
        for key, raw in storages.items():
            z.writestr(f"archive/data/{key}", raw)
        z.writestr("archive/version", b"3\n")
    return out.getvalue()


def write(target, name, data):
    path = SEEDS / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


TORCH, UTILS = fake_torch()

if __name__ == "__main__":
    # The order of webembed::fuzzing::config_files().
    config_files = ["config.json", "modules.json", "1_Pooling/config.json", "sentence_bert_config.json",
                    "config_sentence_transformers.json", "tokenizer_config.json"]
    for folder in sorted(p for p in (TINY / "models").iterdir() if not p.name.endswith(("-st5", "-bin", "-sharded"))):
        parts = [(folder / f).read_bytes() if (folder / f).exists() else b"" for f in config_files]
        write("config", folder.name, SEP.join(parts))
    write("safetensors", "f32.safetensors", safetensors("F32"))
    write("safetensors", "f16.safetensors", safetensors("F16"))
    pkl, storages = torch_pickle()
    write("pytorch_bin", "data.pkl", pkl)
    write("pytorch_bin", "pytorch_model.bin", pytorch_bin(pkl, storages))
    text = "Hello, wörld! 東京 ünïcödé   spaces\ttabs " * 3
    for name, path in [("wordpiece", TINY / "models/bge-cls-like/tokenizer.json"),
                       ("bpe-bytelevel", TINY / "tokenizers/bpe-bytelevel/tokenizer.json"),
                       ("unigram", TINY / "models/multilingual-e5-large-like/tokenizer.json")]:
        write("tokenizer", name, path.read_bytes() + SEP + text.encode())
    # Documents for the keyword side, 0xFF between them; an odd first byte asks for English stemming.
    write("keywords", "identifiers", SEP.join([b"os.path.realpath(path) returns the canonical path", b"std::vec::Vec and getHTTPResponse", b"my_var-name"]))
    write("keywords", "scripts", SEP.join([t.encode() for t in ["東京タワーは東京都港区にある", "ภาษาไทย ລາວ ខ្មែរ", "Café STRASSE Йод ΣΟΦΟΣ", "مرحبا بالعالم שלום"]]))
    write("keywords", "stemmed", SEP.join([b"stemming: running runs runner", b"cooking pasta"]))
    print(f"wrote seeds under {SEEDS.relative_to(ROOT)}")
