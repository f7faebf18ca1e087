"""Builds small random-weight models of the families beyond BERT / XLM-R that webembed runs, each
saved by its own library, with reference token ids and embeddings from that library:

- ModernBERT (global and sliding-window layers, both rotary thetas, GeGLU, byte-level BPE with
  [CLS]/[SEP]), in transformers 5's config layout and again in the hub's older one;
- Gemma3 bidirectional (EmbeddingGemma's shape: GQA, q/k RMSNorm, head_dim × heads ≠ hidden,
  sliding and full layers, SentencePiece BPE with byte fallback and bos/eos) → mean → Dense →
  Dense → Normalize, with its task prompts and Matryoshka truncation;
- Qwen3 (causal, GQA, q/k norm, SwiGLU, last-token pooling, left padding, the eos its tokenizer
  appends, instruction prompts);
- static embeddings: sentence-transformers' StaticEmbedding and model2vec folders (plain, and
  with a token mapping and per-token weights);
- a LaBSE-like BERT → CLS → Dense(tanh) → Normalize.

    ~/.cache/webembed/torch-venv/bin/python tools/make_family_models.py   # writes tests/fixtures/tiny/families/

Every family's texts include ones longer than three sliding windows; references hold each text
alone per prompt (and per truncation), and every text together in one mixed-length batch (where
the padding side matters). Weights are rounded to float16 and stored as F16 (references stay
exact). Needs torch, transformers, sentence-transformers, model2vec (tools/requirements.txt).
"""
import json
import pathlib
import shutil
import sys

import model2vec
import numpy as np
import sentence_transformers
import tokenizers
import torch
import transformers
from safetensors.torch import load_file, save_file
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules.dense import Dense
from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, StaticEmbedding, Transformer
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "tiny" / "families"
sys.path.insert(0, str(ROOT / "tools"))
from link_duplicates import link_duplicates  # noqa: E402
from make_tiny_models import training_texts, wordpiece_tokenizer  # noqa: E402
from texts_source import TEXTS  # noqa: E402

VERSIONS = {"sentence_transformers": sentence_transformers.__version__, "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__, "torch": torch.__version__, "model2vec": model2vec.__version__}
GEMMA_PROMPTS = {"query": "task: search result | query: ", "document": "title: none | text: ",
                 "Classification": "task: classification | query: ", "Clustering": "task: clustering | query: "}
QWEN_PROMPTS = {"query": "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:",
                "document": ""}
MODERNBERT_PROMPTS = {"query": "search_query: ", "document": "search_document: "}
QWEN_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def trained_bpe(pre_tokenizer, specials, vocab_size, alphabet=None, limit_alphabet=None, normalize=None):
    """A BPE vocabulary and merges trained on the shared corpus."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizer
    texts = training_texts()
    if normalize:
        texts = [normalize(t) for t in texts]
    kwargs = {"vocab_size": vocab_size, "special_tokens": specials, "show_progress": False}
    if alphabet:
        kwargs["initial_alphabet"] = alphabet
    if limit_alphabet:
        kwargs["limit_alphabet"] = limit_alphabet
    tok.train_from_iterator(texts, trainers.BpeTrainer(**kwargs))
    model = json.loads(tok.to_str())["model"]
    return model["vocab"], [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]


def modernbert_tokenizer():
    """ModernBERT's layout: byte-level BPE, [CLS] $A [SEP], NFC."""
    specials = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
    vocab, merges = trained_bpe(pre_tokenizers.ByteLevel(add_prefix_space=False), specials, 900, pre_tokenizers.ByteLevel.alphabet())
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    cls, sep = vocab["[CLS]"], vocab["[SEP]"]
    tok.post_processor = processors.TemplateProcessing(single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
                                                       special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]",
                                                pad_token="[PAD]", mask_token="[MASK]")
    return fast


def gemma_tokenizer():
    """Gemma's layout: SentencePiece-style BPE over '▁'-joined text with byte fallback (<0x00>…<0xFF>
    in the vocabulary), <bos> $A <eos>, built by transformers' own GemmaTokenizer."""
    specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"]
    words = pre_tokenizers.Split(pattern="▁", behavior="merged_with_next")
    trained, merges = trained_bpe(words, specials, 700, limit_alphabet=90, normalize=lambda t: t.replace(" ", "▁"))
    vocab = {s: i for i, s in enumerate(specials)}
    for byte in range(256):
        vocab[f"<0x{byte:02X}>"] = len(vocab)
    for token, _ in sorted(trained.items(), key=lambda kv: kv[1]):
        if token not in vocab:
            vocab[token] = len(vocab)
    return transformers.GemmaTokenizer(vocab=vocab, merges=merges, add_bos_token=True, add_eos_token=True)


def qwen_tokenizer():
    """Qwen's layout: its split regex, byte-level BPE, NFC; <|endoftext|> appended; left padding."""
    split = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated"),
                                     pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    vocab, merges = trained_bpe(split, ["<|endoftext|>"], 900, pre_tokenizers.ByteLevel.alphabet())
    fast = transformers.Qwen2Tokenizer(vocab=vocab, merges=merges, add_eos_token=True)
    fast.padding_side = "left"
    return fast


def randomize(model, seed):
    """Every parameter random (norm weights near their identity), rounded to float16 values."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if "norm" in name.lower() and p.dim() == 1:
                # Gemma's RMSNorm multiplies by (1 + w): keep w small; the others by w: keep it near 1.
                p.copy_((0.0 if "gemma" in type(model).__name__.lower() else 1.0) + 0.1 * noise)
            elif p.dim() == 1:
                p.copy_(0.05 * noise)
            else:
                p.copy_(0.06 * noise)
            p.copy_(p.half().float())


def to_f16(path):
    tensors = {k: v.half().contiguous() for k, v in load_file(path).items()}
    save_file(tensors, path, metadata={"format": "pt"})


def save_transformer(hf_model, tokenizer, folder, seed, modules_after, max_seq_length, prompts=None, padding_side=None):
    """hf_model randomized and saved with tokenizer, wrapped as a sentence-transformers folder."""
    hf_dir = OUT / "_hf" / folder.name
    shutil.rmtree(hf_dir, ignore_errors=True)
    randomize(hf_model, seed)
    hf_model.eval()
    hf_model.save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)
    transformer = Transformer(str(hf_dir), max_seq_length=max_seq_length)
    st = SentenceTransformer(modules=[transformer, *modules_after(hf_model.config.hidden_size)], device="cpu", prompts=prompts or {})
    save_folder(st, folder)
    if padding_side:
        # As Qwen3-Embedding's tokenizer_config.json says it (transformers' writer leaves the default out).
        path = folder / "tokenizer_config.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "padding_side": padding_side}, indent=2))


def save_folder(st, folder, f16=True):
    """Saves `st`; weights as F16 unless a static table (sentence-transformers would average an F16
    table in float16, where a real static model ships F32)."""
    shutil.rmtree(folder, ignore_errors=True)
    st.save(str(folder))
    for path in folder.rglob("model.safetensors"):
        if f16:
            to_f16(path)
    (folder / "README.md").unlink(missing_ok=True)


def random_dense(in_features, out_features, bias, activation, seed):
    dense = Dense(in_features, out_features, bias=bias, activation_function=activation)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in dense.parameters():
            p.copy_((torch.randn(p.shape, generator=gen) * (0.3 if p.dim() == 2 else 0.05)).half().float())
    return dense


def modernbert(tokenizer):
    config = transformers.ModernBertConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=96, num_hidden_layers=3, num_attention_heads=4,
        global_attn_every_n_layers=2, local_attention=8, global_rope_theta=160000.0, local_rope_theta=10000.0,
        max_position_embeddings=512, norm_eps=1e-5, hidden_activation="gelu", pad_token_id=tokenizer.pad_token_id,
        cls_token_id=tokenizer.cls_token_id, sep_token_id=tokenizer.sep_token_id, bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id)
    return transformers.ModernBertModel(config)


def gemma(tokenizer):
    config = transformers.Gemma3TextConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=96, num_hidden_layers=3, num_attention_heads=2,
        num_key_value_heads=1, head_dim=48, query_pre_attn_scalar=48, sliding_window=16,
        layer_types=["sliding_attention", "sliding_attention", "full_attention"], rope_theta=1000000.0,
        rope_local_base_freq=10000.0, use_bidirectional_attention=True, hidden_activation="gelu_pytorch_tanh",
        max_position_embeddings=2048, rms_norm_eps=1e-6, pad_token_id=0, eos_token_id=1, bos_token_id=2)
    return transformers.Gemma3TextModel(config)


def qwen3(tokenizer):
    config = transformers.Qwen3Config(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=24, max_position_embeddings=1024, rope_theta=1000000.0, rms_norm_eps=1e-6,
        tie_word_embeddings=True, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    return transformers.Qwen3Model(config)


def bert(tokenizer, pad):
    config = transformers.BertConfig(vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=1, num_attention_heads=4,
                                     intermediate_size=128, max_position_embeddings=512, type_vocab_size=2, pad_token_id=pad)
    return transformers.BertModel(config, add_pooling_layer=False)


def subfolder_static(src, dst):
    """The static model in sentence-transformers 3-5's layout (as static-retrieval-mrl-en-v1 ships):
    the table and tokenizer in 0_StaticEmbedding/, with Normalize after it."""
    shutil.rmtree(dst, ignore_errors=True)
    (dst / "0_StaticEmbedding").mkdir(parents=True)
    for name in ["model.safetensors", "tokenizer.json"]:
        shutil.copy(src / name, dst / "0_StaticEmbedding" / name)
    shutil.copy(src / "config_sentence_transformers.json", dst)
    modules = [{"idx": 0, "name": "0", "path": "0_StaticEmbedding", "type": "sentence_transformers.models.StaticEmbedding"},
               {"idx": 1, "name": "1", "path": "1_Normalize", "type": "sentence_transformers.models.Normalize"}]
    (dst / "modules.json").write_text(json.dumps(modules, indent=2))


def hub_modernbert_config(src, dst):
    """The same ModernBERT folder with config.json in the hub's older layout (as gte-modernbert-base,
    modernbert-embed-base and the Ettin encoders ship it)."""
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    config = json.loads((dst / "config.json").read_text())
    rope = config.pop("rope_parameters")
    layer_types = config.pop("layer_types")
    config["global_rope_theta"] = rope["full_attention"]["rope_theta"]
    config["local_rope_theta"] = rope["sliding_attention"]["rope_theta"]
    config["global_attn_every_n_layers"] = next(i for i, t in enumerate(layer_types[1:], 1) if t == "full_attention")
    config.setdefault("local_attention", 8)
    (dst / "config.json").write_text(json.dumps(config, indent=2))


def hub_gemma_config(src, dst):
    """The Gemma folder with config.json as EmbeddingGemma ships it (rope_theta and rope_local_base_freq)."""
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    config = json.loads((dst / "config.json").read_text())
    rope = config.pop("rope_parameters")
    config["rope_theta"] = rope["full_attention"]["rope_theta"]
    config["rope_local_base_freq"] = rope["sliding_attention"]["rope_theta"]
    config["rope_scaling"] = None
    (dst / "config.json").write_text(json.dumps(config, indent=2))


def st_reference(folder, prompt_names, truncate_dims=()):
    st = SentenceTransformer(str(folder), device="cpu", model_kwargs={"dtype": torch.float32})
    cases = []
    for prompt_name in [None, *prompt_names]:
        prompt = st.prompts[prompt_name] if prompt_name else None
        ids = [st.preprocess([text], prompt=prompt)["input_ids"].tolist() for text in TEXTS]
        for truncate_dim in [None, *truncate_dims]:
            for text, text_ids in zip(TEXTS, ids):
                emb = st.encode([text], prompt_name=prompt_name, batch_size=1, convert_to_numpy=True, truncate_dim=truncate_dim)[0]
                cases.append({"text": text, "prompt_name": prompt_name, "truncate_dim": truncate_dim, "ids": flat(text_ids),
                              "embedding": [float(f"{v:.7g}") for v in emb]})
    batch = st.encode(TEXTS, prompt_name=prompt_names[0] if prompt_names else None, batch_size=len(TEXTS), convert_to_numpy=True)
    return reference_file(folder, st.get_embedding_dimension(), st.max_seq_length, cases, batch, prompt_names[0] if prompt_names else None,
                          padding_side=getattr(getattr(st[0], "tokenizer", None), "padding_side", None))


def flat(ids):
    """Transformer's preprocess gives [[ids]]; StaticEmbedding's a flat list."""
    return ids[0] if ids and isinstance(ids[0], list) else ids


def reference_file(folder, dimension, max_seq_length, cases, batch, batch_prompt, padding_side=None, library="sentence_transformers"):
    return {
        "model": folder.name,
        "library": library,
        "dimension": dimension,
        "max_seq_length": max_seq_length if max_seq_length != float("inf") else None,
        "padding_side": padding_side,
        "versions": VERSIONS,
        "cases": cases,
        # All texts in one call, in one batch of mixed lengths (one padded tensor), with this prompt.
        "batch": {"prompt_name": batch_prompt, "embeddings": [[float(f"{v:.7g}") for v in row] for row in batch]},
    }


def model2vec_folder(folder, tokenizer, seed, quantized):
    """A model2vec StaticModel saved by model2vec: random vectors, normalize on; `quantized` gives it
    a token mapping onto fewer rows and per-token weights (vocabulary quantization's layout)."""
    rng = np.random.default_rng(seed)
    vocab = tokenizer.get_vocab_size()
    if quantized:
        rows = 200
        vectors = rng.standard_normal((rows, 64)).astype(np.float16).astype(np.float32)
        mapping = rng.integers(0, rows, vocab).astype(np.int64)
        weights = rng.uniform(0.2, 1.5, vocab).astype(np.float16).astype(np.float32)
        model = model2vec.StaticModel(vectors=vectors, tokenizer=tokenizer, normalize=True, token_mapping=mapping, weights=weights)
    else:
        vectors = rng.standard_normal((vocab, 64)).astype(np.float16).astype(np.float32)
        model = model2vec.StaticModel(vectors=vectors, tokenizer=tokenizer, normalize=True, max_length=128)
    shutil.rmtree(folder, ignore_errors=True)
    model.save_pretrained(folder)
    (folder / "README.md").unlink(missing_ok=True)
    loaded = model2vec.StaticModel.from_pretrained(folder)
    cases = []
    for text in TEXTS:
        ids = loaded.tokenize([text[: loaded.max_length * loaded.median_token_length]])[0] if loaded.max_length else loaded.tokenize([text])[0]
        cases.append({"text": text, "prompt_name": None, "truncate_dim": None, "ids": ids,
                      "embedding": [float(f"{v:.7g}") for v in loaded.encode([text])[0]]})
    batch = loaded.encode(TEXTS, batch_size=len(TEXTS))
    return reference_file(folder, loaded.dim, loaded.max_length, cases, batch, None, library="model2vec")


def main():
    torch.manual_seed(0)
    OUT.mkdir(parents=True, exist_ok=True)
    refs = {}
    mean_normalize = lambda hidden: [Pooling(hidden, pooling_mode="mean"), Normalize()]  # noqa: E731

    tok = modernbert_tokenizer()
    save_transformer(modernbert(tok), tok, OUT / "modernbert-like", 11, mean_normalize, 128, MODERNBERT_PROMPTS)
    refs["modernbert-like"] = st_reference(OUT / "modernbert-like", list(MODERNBERT_PROMPTS), truncate_dims=(32,))
    hub_modernbert_config(OUT / "modernbert-like", OUT / "modernbert-hub-config")
    refs["modernbert-hub-config"] = st_reference(OUT / "modernbert-hub-config", list(MODERNBERT_PROMPTS))
    cls_only = lambda hidden: [Pooling(hidden, pooling_mode="cls")]  # noqa: E731  gte-modernbert's CLS pooling
    save_transformer(modernbert(tok), tok, OUT / "modernbert-cls", 12, cls_only, 64)
    refs["modernbert-cls"] = st_reference(OUT / "modernbert-cls", [])

    tok = gemma_tokenizer()
    gemma_head = lambda hidden: [Pooling(hidden, pooling_mode="mean"), random_dense(hidden, 128, False, torch.nn.Identity(), 21),  # noqa: E731
                                 random_dense(128, hidden, False, torch.nn.Identity(), 22), Normalize()]
    save_transformer(gemma(tok), tok, OUT / "embeddinggemma-like", 13, gemma_head, 256, GEMMA_PROMPTS)
    refs["embeddinggemma-like"] = st_reference(OUT / "embeddinggemma-like", list(GEMMA_PROMPTS), truncate_dims=(48, 16))
    hub_gemma_config(OUT / "embeddinggemma-like", OUT / "embeddinggemma-hub-config")
    refs["embeddinggemma-hub-config"] = st_reference(OUT / "embeddinggemma-hub-config", ["query"])

    tok = qwen_tokenizer()
    last_normalize = lambda hidden: [Pooling(hidden, pooling_mode="lasttoken"), Normalize()]  # noqa: E731
    save_transformer(qwen3(tok), tok, OUT / "qwen3-embedding-like", 14, last_normalize, 128, QWEN_PROMPTS, padding_side="left")
    refs["qwen3-embedding-like"] = st_reference(OUT / "qwen3-embedding-like", ["query", "document"], truncate_dims=(32,))

    wordpiece, pad = wordpiece_tokenizer()
    labse_head = lambda hidden: [Pooling(hidden, pooling_mode="cls"), random_dense(hidden, hidden, True, torch.nn.Tanh(), 23), Normalize()]  # noqa: E731
    save_transformer(bert(wordpiece, pad), wordpiece, OUT / "labse-like", 15, labse_head, 128)
    refs["labse-like"] = st_reference(OUT / "labse-like", [])

    backend = wordpiece.backend_tokenizer
    static = StaticEmbedding(Tokenizer.from_str(backend.to_str()), embedding_dim=64)
    with torch.no_grad():
        static.embedding.weight.copy_((torch.randn(static.embedding.weight.shape, generator=torch.Generator().manual_seed(16))).half().float())
    save_folder(SentenceTransformer(modules=[static], device="cpu", prompts={"query": "query: "}), OUT / "static-st-like", f16=False)
    refs["static-st-like"] = st_reference(OUT / "static-st-like", ["query"], truncate_dims=(32,))
    subfolder_static(OUT / "static-st-like", OUT / "static-st-subfolder")
    refs["static-st-subfolder"] = st_reference(OUT / "static-st-subfolder", [])

    plain = Tokenizer.from_str(backend.to_str())
    refs["model2vec-like"] = model2vec_folder(OUT / "model2vec-like", plain, 17, quantized=False)
    refs["model2vec-quantized-like"] = model2vec_folder(OUT / "model2vec-quantized-like", plain, 18, quantized=True)

    shutil.rmtree(OUT / "_hf", ignore_errors=True)
    link_duplicates(OUT)
    ref_dir = ROOT / "tests" / "fixtures" / "tiny" / "family-references"
    ref_dir.mkdir(exist_ok=True)
    for name, ref in refs.items():
        (ref_dir / f"{name}.json").write_text(json.dumps(ref, ensure_ascii=False) + "\n")
        print("reference", name, len(ref["cases"]), "cases")


if __name__ == "__main__":
    main()
