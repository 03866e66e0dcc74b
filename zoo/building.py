"""Generic builders: turn a spec's plain-data component configs into diffusers/transformers
objects. A spec whose ``config`` holds ``pipeline_class`` and ``components`` needs no build
hook at all; plugins call these helpers for the parts they share with their teachers.

Component config format (``spec.config["components"][name]``)::

    {"class": "UNet2DConditionModel", "config": {...}}                 # diffusers model
    {"class": "CLIPTextModel", "library": "transformers", "config": {...}}
    {"class": "DDIMScheduler", "config": {...}}                         # diffusers scheduler
    {"class": "CLIPTokenizer", "library": "transformers", "generated": true}
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from .errors import ZooError

# transformers model class -> its config class
_TRANSFORMERS_CONFIGS = {
    "CLIPTextModel": "CLIPTextConfig",
    "CLIPTextModelWithProjection": "CLIPTextConfig",
    "T5EncoderModel": "T5Config",
}


def build_component(cfg: dict[str, Any]) -> Any:
    cls_name = cfg["class"]
    lib = cfg.get("library", "diffusers")
    if cfg.get("generated"):
        if cls_name == "CLIPTokenizer":
            return make_clip_tokenizer()
        if cls_name in {"T5TokenizerFast", "T5Tokenizer"}:
            return make_t5_tokenizer(cfg.get("model_max_length", 120))
        raise ZooError(f"no generated {cls_name}")
    if lib == "transformers":
        import transformers

        model_cls = getattr(transformers, cls_name)
        config_cls = getattr(transformers, _TRANSFORMERS_CONFIGS[cls_name])
        return model_cls(config_cls(**cfg.get("config", {})))
    import diffusers

    cls = getattr(diffusers, cls_name)
    if hasattr(cls, "from_config") and "Scheduler" in cls_name:
        import torch

        # Schedulers keep small CPU tables (sigmas) and copy them to CPU in __init__: never
        # build them under a surrounding meta-device context (a meta build of the pipeline).
        with torch.device("cpu"):
            return cls.from_config(cfg.get("config", {}))
    return cls(**cfg.get("config", {}))


def build_pipeline(pipeline_class: str, components: dict[str, Any], **kwargs: Any) -> Any:
    import diffusers

    return getattr(diffusers, pipeline_class)(**components, **kwargs)


def build_from_config(config: dict[str, Any]) -> Any:
    """Build a pipeline (``pipeline_class`` + ``components``) or a single component (``component``)."""
    if "component" in config:
        return build_component(config["component"])
    if "pipeline_class" not in config or "components" not in config:
        raise ZooError("spec.config has neither 'pipeline_class'+'components' nor 'component'")
    comps = {name: build_component(c) for name, c in config["components"].items()}
    return build_pipeline(config["pipeline_class"], comps, **config.get("pipeline_kwargs", {}))


def _bytes_to_unicode() -> dict[int, str]:
    # GPT-2/CLIP byte-level alphabet: printable stand-ins for all 256 bytes.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def make_clip_tokenizer(model_max_length: int = 77) -> Any:
    """A byte-level CLIP tokenizer with no merges (514 tokens), written and loaded from a temp dir.

    Used where the real vocabulary cannot be downloaded (tests, random-init builds): it
    tokenises any text into ids < 514, which every CLIP text encoder accepts.
    """
    from transformers import CLIPTokenizer

    chars = list(_bytes_to_unicode().values())
    vocab = {c: i for i, c in enumerate(chars)}
    for c in chars:
        vocab[c + "</w>"] = len(vocab)
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    with tempfile.TemporaryDirectory() as d:
        Path(d, "vocab.json").write_text(json.dumps(vocab))
        Path(d, "merges.txt").write_text("#version: 0.2\n")
        tok = CLIPTokenizer(str(Path(d, "vocab.json")), str(Path(d, "merges.txt")), model_max_length=model_max_length)
        tok.pad_token = "<|endoftext|>"
    return tok


def make_t5_tokenizer(model_max_length: int = 120) -> Any:
    """A character-level stand-in for T5's sentencepiece tokenizer (ids < 300)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    for i in range(32, 127):
        vocab[chr(i)] = len(vocab)
    tk = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    return PreTrainedTokenizerFast(
        tokenizer_object=tk, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", model_max_length=model_max_length
    )
