"""Generic builders: turn a spec's plain-data component configs into diffusers/transformers
objects. A spec whose ``config`` holds ``pipeline_class`` and ``components`` needs no build
hook at all; plugins call these helpers for the parts they share with their teachers.

Spec config format (``spec.config``)::

    {"pipeline_class": "StableDiffusionPipeline",      # a diffusers pipeline class
     "components": {name: COMPONENT, ...},             # its constructor's components
     "pipeline_kwargs": {"requires_safety_checker": False, ...},
     "derive_from": "sd15"}                            # optional: a registered model whose
                                                       # components fill those not given here
    {"component": COMPONENT}                           # a single-model (component) spec

COMPONENT::

    {"class": "UNet2DConditionModel", "config": {...}}                 # diffusers model
    {"class": "MyUNet", "module": "zoo_myfamily.unet", "config": {...}}  # your own ModelMixin class
    {"class": "CLIPTextModel", "library": "transformers", "config": {...}}
    {"class": "DDIMScheduler", "config": {...}}                         # diffusers scheduler
    {"class": "CLIPTokenizer", "library": "transformers", "generated": true}

``sd_components(unet_config)`` gives the export shapes (``ModelSpec.components``) of a Stable
Diffusion-layout pipeline from its UNet config.
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
    if cfg.get("module"):  # a plugin's own class, imported only when built
        import importlib

        return getattr(importlib.import_module(cfg["module"]), cls_name)(**cfg.get("config", {}))
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
    if config.get("derive_from"):
        config = derived_config(config)
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


def derived_config(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with the components, pipeline class and kwargs it does not set taken from the
    registered model ``config['derive_from']`` (resolved at build time, not at registration)."""
    from .registry import get_spec

    base = get_spec(config["derive_from"]).config
    if base.get("derive_from"):
        base = derived_config(base)
    return {
        "pipeline_class": config.get("pipeline_class", base.get("pipeline_class")),
        "components": {**base.get("components", {}), **config.get("components", {})},
        "pipeline_kwargs": {**base.get("pipeline_kwargs", {}), **config.get("pipeline_kwargs", {})},
    }


def sd_components(unet: dict[str, Any], unet_class: str = "UNet2DConditionModel", vae_class: str = "AutoencoderKL",
                  text_len: int = 77, latent_channels: int = 4) -> list[Any]:
    """Export shapes of a Stable Diffusion-layout pipeline (CLIP text encoder, UNet, VAE decoder and
    encoder at f=8) from its UNet config: what ``ModelSpec.components`` needs, without building."""
    from .specs import ComponentSpec

    size, hidden = int(unet.get("sample_size", 64)), int(unet.get("cross_attention_dim", 768))
    return [
        ComponentSpec(name="text_encoder", class_name="CLIPTextModel", inputs={"input_ids": [1, text_len]},
                      input_dtypes={"input_ids": "int64"}),
        ComponentSpec(name="unet", class_name=unet_class, inputs={
            "sample": [1, int(unet.get("in_channels", 4)), size, size], "timestep": [1],
            "encoder_hidden_states": [1, text_len, hidden]}),
        ComponentSpec(name="vae_decoder", class_name=vae_class, inputs={"latent_sample": [1, latent_channels, size, size]}),
        ComponentSpec(name="vae_encoder", class_name=vae_class, inputs={"sample": [1, 3, size * 8, size * 8]}),
    ]

