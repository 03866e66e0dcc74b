"""Word-level tokenizers over the digits vocabulary, generated offline (no download).

A CLIP BPE tokenizer whose merges spell each vocabulary word into one token, and a T5-style
word-level fast tokenizer. Both are saved with the weights (``tokenizer/``), so a loaded
pipeline reads them back from its own folder.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from zoo.proving import VOCABULARY

# bos, 4 prompt words, eos, and room for a stray word: every prompt fits with no truncation.
CLIP_MAX_LENGTH = 8


def _clip_vocab_and_merges(vocabulary=VOCABULARY) -> tuple[dict[str, int], list[str]]:
    chars = sorted({c for w in vocabulary for c in w})
    vocab: dict[str, int] = {}
    for c in chars:
        vocab.setdefault(c, len(vocab))
        vocab.setdefault(c + "</w>", len(vocab))
    merges: list[str] = []
    for word in vocabulary:
        # CLIP's BPE marks a word's last symbol with </w>; merge left to right into one token.
        symbols = list(word[:-1]) + [word[-1] + "</w>"]
        cur = symbols[0]
        for s in symbols[1:]:
            merge = f"{cur} {s}"
            cur = cur + s
            if merge not in merges:
                merges.append(merge)
            vocab.setdefault(cur, len(vocab))
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return vocab, merges


def clip_vocab_size(vocabulary=VOCABULARY) -> int:
    return len(_clip_vocab_and_merges(vocabulary)[0])


def make_digits_clip_tokenizer(vocabulary=VOCABULARY, max_length: int = CLIP_MAX_LENGTH):
    """A CLIPTokenizer that maps every digits-prompt word to one id ('a handwritten digit 7' -> 6 ids)."""
    from transformers import CLIPTokenizer

    vocab, merges = _clip_vocab_and_merges(vocabulary)
    with tempfile.TemporaryDirectory() as d:
        Path(d, "vocab.json").write_text(json.dumps(vocab))
        Path(d, "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
        tok = CLIPTokenizer(str(Path(d, "vocab.json")), str(Path(d, "merges.txt")), model_max_length=max_length)
        tok.pad_token = "<|endoftext|>"
    return tok


T5_SPECIALS = ("<pad>", "</s>", "<unk>")


def t5_vocab_size() -> int:
    return len(T5_SPECIALS) + len(VOCABULARY)


def make_digits_t5_tokenizer(model_max_length: int = 300):
    """A word-level T5-style tokenizer (pad 0, eos 1, unk 2, then the vocabulary), eos appended."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(T5_SPECIALS)}
    for w in VOCABULARY:
        vocab[w] = len(vocab)
    tk = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tk.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tk, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", model_max_length=model_max_length
    )
