"""Random-weight models at the real sizes of the hub models of each family, for benchmarks only
(not committed, not used by tests): the configs of granite-embedding-small-english-r2
(ModernBERT), EmbeddingGemma-300m (Gemma3 + Dense), Qwen3-Embedding-0.6B and potion-base-8M
(model2vec), with the families' tiny fixture tokenizers (their vocabularies are small, the
tables are full size: only the ids the tokenizer makes are read).

    ~/.cache/webembed/tools-venv/bin/python tools/make_bench_models.py build/bench-models [names…]

Needs numpy and safetensors only (the tools venv scripts/setup.sh makes). F16 weights, N(0, 0.02).
"""
import json
import pathlib
import shutil
import sys

import numpy as np
from safetensors.numpy import save_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "tiny" / "families"


def tensor(rng, *shape, scale=0.02, offset=0.0):
    return (offset + scale * rng.standard_normal(shape, dtype=np.float32)).astype(np.float16)


def write(folder, tensors, config, fixture, extra=(), max_seq_length=None):
    """Writes the folder: `fixture`'s configs and tokenizer with `config` over its config.json
    (and the real model's `max_seq_length`)."""
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(FIXTURES / fixture, folder, symlinks=False, ignore=shutil.ignore_patterns("*.safetensors"))
    if max_seq_length:
        for name, key in [("sentence_bert_config.json", "max_seq_length"), ("tokenizer_config.json", "model_max_length")]:
            if (folder / name).exists():
                values = json.loads((folder / name).read_text())
                values[key] = max_seq_length
                (folder / name).write_text(json.dumps(values, indent=2))
    if config is not None:
        base = json.loads((FIXTURES / fixture / "config.json").read_text())
        base.update(config)
        (folder / "config.json").write_text(json.dumps(base, indent=2))
    save_file(tensors, str(folder / "model.safetensors"))
    pooling = folder / "1_Pooling" / "config.json"
    if pooling.exists() and config is not None:
        values = json.loads(pooling.read_text())
        values["embedding_dimension"] = config["hidden_size"]
        pooling.write_text(json.dumps(values, indent=2))
    for path, module_tensors, module_config in extra:
        (folder / path).mkdir(parents=True, exist_ok=True)
        save_file(module_tensors, str(folder / path / "model.safetensors"))
        (folder / path / "config.json").write_text(json.dumps(module_config, indent=2))


def modernbert(folder, rng):
    h, layers, ff, vocab = 384, 12, 1536, 50368
    config = {"hidden_size": h, "num_hidden_layers": layers, "num_attention_heads": 6, "intermediate_size": ff,
              "vocab_size": vocab, "max_position_embeddings": 8192, "local_attention": 128, "global_attn_every_n_layers": 3,
              "layer_types": None, "rope_parameters": None, "global_rope_theta": 160000.0, "local_rope_theta": 10000.0}
    t = {"embeddings.tok_embeddings.weight": tensor(rng, vocab, h), "embeddings.norm.weight": tensor(rng, h, offset=1.0),
         "final_norm.weight": tensor(rng, h, offset=1.0)}
    for i in range(layers):
        p = f"layers.{i}"
        if i > 0:
            t[f"{p}.attn_norm.weight"] = tensor(rng, h, offset=1.0)
        t[f"{p}.attn.Wqkv.weight"] = tensor(rng, 3 * h, h)
        t[f"{p}.attn.Wo.weight"] = tensor(rng, h, h)
        t[f"{p}.mlp_norm.weight"] = tensor(rng, h, offset=1.0)
        t[f"{p}.mlp.Wi.weight"] = tensor(rng, 2 * ff, h)
        t[f"{p}.mlp.Wo.weight"] = tensor(rng, h, ff)
    write(folder, t, config, "modernbert-like", max_seq_length=8192)


def gemma(folder, rng):
    h, layers, ff, vocab, heads, kv, hd = 768, 24, 1152, 262144, 3, 1, 256
    types = ["sliding_attention" if (i + 1) % 6 else "full_attention" for i in range(layers)]
    config = {"hidden_size": h, "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": kv,
              "head_dim": hd, "intermediate_size": ff, "vocab_size": vocab, "max_position_embeddings": 2048,
              "sliding_window": 512, "layer_types": types, "query_pre_attn_scalar": 256, "rope_parameters": None,
              "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0}
    t = {"embed_tokens.weight": tensor(rng, vocab, h), "norm.weight": tensor(rng, h)}
    for i in range(layers):
        p, a, m = f"layers.{i}", f"layers.{i}.self_attn", f"layers.{i}.mlp"
        for name in ["input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm"]:
            t[f"{p}.{name}.weight"] = tensor(rng, h)
        t[f"{a}.q_proj.weight"] = tensor(rng, heads * hd, h)
        t[f"{a}.k_proj.weight"] = tensor(rng, kv * hd, h)
        t[f"{a}.v_proj.weight"] = tensor(rng, kv * hd, h)
        t[f"{a}.o_proj.weight"] = tensor(rng, h, heads * hd)
        t[f"{a}.q_norm.weight"] = tensor(rng, hd)
        t[f"{a}.k_norm.weight"] = tensor(rng, hd)
        t[f"{m}.gate_proj.weight"] = tensor(rng, ff, h)
        t[f"{m}.up_proj.weight"] = tensor(rng, ff, h)
        t[f"{m}.down_proj.weight"] = tensor(rng, h, ff)
    dense = lambda i, o: {"in_features": i, "out_features": o, "bias": False, "activation_function": "torch.nn.modules.linear.Identity"}  # noqa: E731
    extra = [("2_Dense", {"linear.weight": tensor(rng, 3072, h)}, dense(h, 3072)), ("3_Dense", {"linear.weight": tensor(rng, h, 3072)}, dense(3072, h))]
    write(folder, t, config, "embeddinggemma-like", extra, max_seq_length=2048)


def qwen3(folder, rng):
    h, layers, ff, vocab, heads, kv, hd = 1024, 28, 3072, 151669, 16, 8, 128
    config = {"hidden_size": h, "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": kv,
              "head_dim": hd, "intermediate_size": ff, "vocab_size": vocab, "max_position_embeddings": 32768,
              "layer_types": None, "rope_parameters": None, "rope_theta": 1000000.0}
    t = {"embed_tokens.weight": tensor(rng, vocab, h), "norm.weight": tensor(rng, h, offset=1.0)}
    for i in range(layers):
        p, a, m = f"layers.{i}", f"layers.{i}.self_attn", f"layers.{i}.mlp"
        t[f"{p}.input_layernorm.weight"] = tensor(rng, h, offset=1.0)
        t[f"{p}.post_attention_layernorm.weight"] = tensor(rng, h, offset=1.0)
        t[f"{a}.q_proj.weight"] = tensor(rng, heads * hd, h)
        t[f"{a}.k_proj.weight"] = tensor(rng, kv * hd, h)
        t[f"{a}.v_proj.weight"] = tensor(rng, kv * hd, h)
        t[f"{a}.o_proj.weight"] = tensor(rng, h, heads * hd)
        t[f"{a}.q_norm.weight"] = tensor(rng, hd, offset=1.0)
        t[f"{a}.k_norm.weight"] = tensor(rng, hd, offset=1.0)
        t[f"{m}.gate_proj.weight"] = tensor(rng, ff, h)
        t[f"{m}.up_proj.weight"] = tensor(rng, ff, h)
        t[f"{m}.down_proj.weight"] = tensor(rng, h, ff)
    write(folder, t, config, "qwen3-embedding-like", max_seq_length=32768)


def potion(folder, rng):
    """potion-base-8M's table: 29 528 rows × 256 (float32, as it ships), with the fixture's
    tokenizer padded to as many tokens so the table and tokenizer agree."""
    tokenizer = json.loads((FIXTURES / "model2vec-like" / "tokenizer.json").read_text())
    vocab = tokenizer["model"]["vocab"]
    for i in range(len(vocab), 29528):
        vocab[f"[unused{i}]"] = i
    write(folder, {"embeddings": (0.1 * rng.standard_normal((29528, 256), dtype=np.float32))}, None, "model2vec-like")
    (folder / "tokenizer.json").unlink()
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer))


MODELS = {"granite-small-r2-shape": modernbert, "embeddinggemma-300m-shape": gemma, "qwen3-embedding-0.6b-shape": qwen3,
          "potion-base-8m-shape": potion}

if __name__ == "__main__":
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build" / "bench-models")
    wanted = sys.argv[2:] or list(MODELS)
    for name in wanted:
        if (out / name / "model.safetensors").exists():
            continue
        MODELS[name](out / name, np.random.default_rng(7))
        print("wrote", out / name)
