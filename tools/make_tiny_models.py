"""Builds small random-weight sentence-transformers models in every encoder shape webembed must
run, with the real head geometry (12 heads of 32 for 384-d), tiny trained tokenizers, both
config formats, a pytorch_model.bin copy and a sharded copy, plus reference token ids and
embeddings from sentence-transformers itself.

    python tools/make_tiny_models.py            # writes tests/fixtures/tiny/

Weights are rounded to float16 and stored as F16 safetensors (exactly representable, so the
references computed in float32 stay exact) to keep each folder small enough to commit.
Needs torch, transformers, sentence-transformers and tokenizers (tools/requirements.txt).
"""
import json
import pathlib
import shutil
import sys

import sentence_transformers
import tokenizers
import torch
import transformers
from safetensors.torch import load_file, save_file
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
from transformers.convert_slow_tokenizer import XLMRobertaConverter
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "tiny"
sys.path.insert(0, str(ROOT / "tools"))
from link_duplicates import link_duplicates  # noqa: E402
from texts_source import TEXTS  # noqa: E402
from tokenizer_corpus import corpus as tokenizer_corpus  # noqa: E402

HIDDEN, HEADS, LAYERS, INTERMEDIATE = 384, 12, 1, 512
PROMPTS = {"query": "query: ", "passage": "passage: "}


def training_texts():
    bench = ROOT.parent / "shared" / "bench" / "corpus.json"
    texts = list(TEXTS) + tokenizer_corpus()
    if bench.exists():
        texts += json.loads(bench.read_text())[:64]
    return texts


def wordpiece_tokenizer(vocab_size=1200):
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=None, handle_chinese_chars=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok.train_from_iterator(training_texts(), trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    tok.decoder = decoders.WordPiece()
    fast = transformers.BertTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                          cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    return fast, 0  # pad id


def sentencepiece_tokenizer(vocab_size=1200):
    """XLM-R's real pipeline: a SentencePiece Unigram model (nmt_nfkc rules, so tokenizer.json gets
    a `Precompiled` normalizer with its charsmap), converted by transformers as XLM-R's is, with
    the fairseq id offset (<s>=0, <pad>=1, </s>=2, <unk>=3)."""
    import tempfile

    import sentencepiece as spm

    with tempfile.TemporaryDirectory() as tmp:
        corpus = pathlib.Path(tmp) / "corpus.txt"
        corpus.write_text("\n".join(t.replace("\n", " ") for t in training_texts() if t.strip()), encoding="utf-8")
        spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=f"{tmp}/spm", vocab_size=vocab_size,
                                       model_type="unigram", normalization_rule_name="nmt_nfkc", character_coverage=1.0,
                                       pad_id=-1, bos_id=-1, eos_id=-1, unk_id=0, num_threads=1)
        converted = XLMRobertaConverter(_SpmFile(f"{tmp}/spm.model")).converted()
    fast = transformers.XLMRobertaTokenizerFast(tokenizer_object=converted, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                                                cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>")
    normalizer = json.loads(fast.backend_tokenizer.to_str())["normalizer"]
    assert "Precompiled" in json.dumps(normalizer), f"expected a Precompiled normalizer, got {normalizer}"
    return fast, 1


class _SpmFile:
    """What transformers' XLMRobertaConverter reads of a slow tokenizer (v5 ships none)."""
    FAIRSEQ = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}

    def __init__(self, vocab_file):
        self.vocab_file = vocab_file

    def convert_tokens_to_ids(self, token):
        return self.FAIRSEQ[token]


def bpe_tokenizer(vocab_size=1200):
    """RoBERTa-style byte-level BPE, for tokenizer parity (no model in the table uses it)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    tok.train_from_iterator(training_texts(), trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                                                   initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=True, add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return tok


def unigram_tokenizer(vocab_size=1200):
    """XLM-R's layout: NFKC-style normalization, Metaspace, <s> $A </s>."""
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tok.train_from_iterator(training_texts(), trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=specials, unk_token="<unk>"))
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    fast = transformers.XLMRobertaTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                                                cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>")
    return fast, 1


def randomize(model, seed):
    """transformers' init leaves LayerNorms at 1/0 and biases at 0; perturb everything so each
    parameter matters, then round to float16-representable values."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if "LayerNorm.weight" in name:
                p.copy_(1.0 + 0.1 * noise)
            elif p.dim() == 1:
                p.copy_(0.05 * noise)
            else:
                p.copy_(0.06 * noise)
            p.copy_(p.half().float())


def hf_model(architecture, tokenizer, pad_id, seed, hidden=HIDDEN, heads=HEADS, layers=LAYERS, intermediate=INTERMEDIATE):
    common = dict(vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                  intermediate_size=intermediate, hidden_act="gelu", pad_token_id=pad_id)
    if architecture == "bert":
        config = transformers.BertConfig(max_position_embeddings=512, type_vocab_size=2, layer_norm_eps=1e-12, **common)
        model = transformers.BertModel(config, add_pooling_layer=False)
    else:
        config = transformers.XLMRobertaConfig(max_position_embeddings=514, type_vocab_size=1, layer_norm_eps=1e-5,
                                               bos_token_id=0, eos_token_id=2, **common)
        model = transformers.XLMRobertaModel(config, add_pooling_layer=False)
    torch.manual_seed(seed)
    randomize(model, seed)
    model.eval()
    return model


def to_f16(folder):
    path = folder / "model.safetensors"
    tensors = {k: v.half().contiguous() for k, v in load_file(path).items()}
    save_file(tensors, path, metadata={"format": "pt"})


def save_st(folder, architecture, tokenizer, pad_id, seed, pooling="mean", normalize=True, max_seq_length=512,
            prompts=None, include_prompt=True, geometry=None):
    """Saves a sentence-transformers 6.x folder (its own writer)."""
    hf_dir = OUT / "_hf" / folder.name
    shutil.rmtree(hf_dir, ignore_errors=True)
    geometry = geometry or {}
    hf_model(architecture, tokenizer, pad_id, seed, **geometry).save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)
    transformer = Transformer(str(hf_dir), max_seq_length=max_seq_length)
    hidden = geometry.get("hidden", HIDDEN)
    modules = [transformer, Pooling(hidden, pooling_mode=pooling, include_prompt=include_prompt)]
    if normalize:
        modules.append(Normalize())
    st = SentenceTransformer(modules=modules, device="cpu", prompts=prompts or {})
    shutil.rmtree(folder, ignore_errors=True)
    st.save(str(folder))
    to_f16(folder)
    for junk in ["README.md"]:
        (folder / junk).unlink(missing_ok=True)


LEGACY_FLAGS = {"cls": "cls_token", "max": "max_tokens", "mean": "mean_tokens",
                "mean_sqrt_len_tokens": "mean_sqrt_len_tokens", "weightedmean": "weightedmean_tokens", "lasttoken": "lasttoken"}


def legacy_copy(src, dst):
    """Rewrites a folder in the sentence-transformers <= 5 layout: max_seq_length in
    sentence_bert_config.json, pooling_mode_*_tokens booleans, sentence_transformers.models.* types."""
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    modules = json.loads((dst / "modules.json").read_text())
    for m in modules:
        m["type"] = "sentence_transformers.models." + m["type"].rsplit(".", 1)[-1]
    (dst / "modules.json").write_text(json.dumps(modules, indent=2))
    max_len = json.loads((dst / "tokenizer_config.json").read_text()).get("model_max_length")
    (dst / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": max_len, "do_lower_case": False}, indent=2))
    tok_cfg = json.loads((dst / "tokenizer_config.json").read_text())
    tok_cfg["model_max_length"] = 512  # the tokenizer's own limit; sentence_bert_config.json wins
    (dst / "tokenizer_config.json").write_text(json.dumps(tok_cfg, indent=2))
    pooling = json.loads((dst / "1_Pooling" / "config.json").read_text())
    modes = pooling["pooling_mode"]
    modes = [modes] if isinstance(modes, str) else modes
    legacy = {"word_embedding_dimension": pooling.get("embedding_dimension", HIDDEN)}
    legacy.update({f"pooling_mode_{flag}": mode in modes for mode, flag in LEGACY_FLAGS.items()})
    legacy["include_prompt"] = pooling.get("include_prompt", True)
    (dst / "1_Pooling" / "config.json").write_text(json.dumps(legacy, indent=2))
    st_cfg_path = dst / "config_sentence_transformers.json"
    st_cfg = json.loads(st_cfg_path.read_text()) if st_cfg_path.exists() else {}
    st_cfg["__version__"] = {"sentence_transformers": "2.7.0", "transformers": "4.40.0", "pytorch": "2.2.0"}
    st_cfg_path.write_text(json.dumps(st_cfg, indent=2))


def bin_copy(src, dst):
    """The same model with pytorch_model.bin instead of model.safetensors."""
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    tensors = load_file(dst / "model.safetensors")
    (dst / "model.safetensors").unlink()
    torch.save(tensors, dst / "pytorch_model.bin")


def sharded_copy(src, dst):
    """The same model split into two safetensors shards with an index, as large hub models are."""
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    tensors = load_file(dst / "model.safetensors")
    (dst / "model.safetensors").unlink()
    names = sorted(tensors)
    half = len(names) // 2
    shards = {"model-00001-of-00002.safetensors": names[:half], "model-00002-of-00002.safetensors": names[half:]}
    weight_map = {}
    for file, keys in shards.items():
        save_file({k: tensors[k] for k in keys}, dst / file, metadata={"format": "pt"})
        weight_map.update({k: file for k in keys})
    total = sum(t.numel() * t.element_size() for t in tensors.values())
    (dst / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2))


def reference(folder, prompt_names):
    st = SentenceTransformer(str(folder), device="cpu", model_kwargs={"dtype": torch.float32})
    cases = []
    for prompt_name in [None, *prompt_names]:
        for text in TEXTS:
            ids = st.preprocess([(st.prompts[prompt_name] if prompt_name else "") + text])["input_ids"][0].tolist()
            emb = st.encode([text], prompt_name=prompt_name, batch_size=1, convert_to_numpy=True)[0]
            cases.append({"text": text, "prompt_name": prompt_name, "ids": ids, "embedding": [float(f"{v:.7g}") for v in emb]})
    return {
        "model": folder.name,
        "dimension": st.get_embedding_dimension(),
        "max_seq_length": st.max_seq_length,
        "versions": {"sentence_transformers": sentence_transformers.__version__, "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__, "torch": torch.__version__},
        "cases": cases,
    }


def tokenizer_reference(folder):
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    strings = tokenizer_corpus()
    return {"tokenizer": str((folder / "tokenizer.json").relative_to(OUT)), "tokenizers": tokenizers.__version__,
            "cases": [{"text": s, "ids": tok.encode(s).ids} for s in strings]}


def main():
    torch.manual_seed(0)
    OUT.mkdir(parents=True, exist_ok=True)
    wordpiece, wp_pad = wordpiece_tokenizer()
    unigram, ug_pad = unigram_tokenizer()
    sentencepiece, sp_pad = sentencepiece_tokenizer()
    m = OUT / "models"
    specs = [
        # name, architecture, tokenizer, pad, seed, pooling, normalize, max_seq_length, prompts, include_prompt
        ("e5-small-v2-like", "bert", wordpiece, wp_pad, 1, "mean", True, 512, PROMPTS, True),
        ("multilingual-e5-small-like", "bert", sentencepiece, sp_pad, 2, "mean", True, 512, PROMPTS, True),
        ("xlmr-minilm-nonorm-like", "xlmr", unigram, ug_pad, 3, "mean", False, 128, None, True),
        # Same seeds as the folders above: identical weights, linked instead of copied.
        ("bge-cls-like", "bert", wordpiece, wp_pad, 1, "cls", True, 512, None, True),
        ("pooling-max", "bert", wordpiece, wp_pad, 1, "max", False, 64, None, True),
        ("pooling-mean-sqrt-len", "bert", wordpiece, wp_pad, 1, "mean_sqrt_len_tokens", False, 64, None, True),
        ("pooling-weightedmean", "xlmr", unigram, ug_pad, 3, "weightedmean", False, 64, None, True),
        ("pooling-lasttoken", "xlmr", unigram, ug_pad, 3, "lasttoken", True, 64, None, True),
        ("pooling-cls-mean-no-prompt", "bert", wordpiece, wp_pad, 1, ("cls", "mean"), True, 64, PROMPTS, False),
    ]
    written = {}
    for name, arch, tok, pad, seed, pooling, normalize, max_len, prompts, include_prompt in specs:
        save_st(m / name, arch, tok, pad, seed, pooling, normalize, max_len, prompts, include_prompt)
        written[name] = list(prompts or {})
    # multilingual-e5-large's geometry: 1024-d, 16 heads of 64 (one layer, a narrow FFN, small vocab).
    save_st(m / "multilingual-e5-large-like", "xlmr", unigram, ug_pad, 8, "mean", True, 512, PROMPTS, True,
            geometry={"hidden": 1024, "heads": 16, "layers": 1, "intermediate": 1024})
    written["multilingual-e5-large-like"] = list(PROMPTS)
    # Every folder again in the sentence-transformers <= 5 layout.
    for name in list(written):
        legacy_copy(m / name, m / f"{name}-st5")
        written[f"{name}-st5"] = written[name]
    bin_copy(m / "e5-small-v2-like", m / "e5-small-v2-like-bin")
    sharded_copy(m / "xlmr-minilm-nonorm-like", m / "xlmr-minilm-nonorm-like-sharded")
    written.update({"e5-small-v2-like-bin": list(PROMPTS), "xlmr-minilm-nonorm-like-sharded": []})
    shutil.rmtree(OUT / "_hf", ignore_errors=True)
    link_duplicates(m)

    refs = OUT / "references"
    refs.mkdir(exist_ok=True)
    for name, prompt_names in sorted(written.items()):
        (refs / f"{name}.json").write_text(json.dumps(reference(m / name, prompt_names), ensure_ascii=False) + "\n")
        print("reference", name)
    for name in ["e5-small-v2-like", "multilingual-e5-small-like", "xlmr-minilm-nonorm-like"]:
        (refs / f"tokenizer-{name}.json").write_text(json.dumps(tokenizer_reference(m / name), ensure_ascii=False) + "\n")
    # Byte-level BPE has no model in the table; its tokenizer alone is checked for parity.
    bpe_dir = OUT / "tokenizers" / "bpe-bytelevel"
    bpe_dir.mkdir(parents=True, exist_ok=True)
    bpe_tokenizer().save(str(bpe_dir / "tokenizer.json"))
    (refs / "tokenizer-bpe-bytelevel.json").write_text(json.dumps(tokenizer_reference(bpe_dir), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
