"""The proving ground's trained miniature teachers, with weights shipped in this package.

Digits teachers (this package's ``digit_models`` / ``train_digits``): ``mini-sd`` (SD-style
text-to-image), ``mini-dit`` (class-conditional DiT), ``mini-pixart`` (PixArt-style
text-to-image), each with a ``-tiny`` random-init variant. Photo teachers (``mini-edit``,
``mini-sr``) live in ``photo_models`` (specs(), build(spec), train(spec, config), optional
eval(spec, model, suite, config)), wired in by model id here.

Registering the specs imports no torch. ``zoo_proving.MiniPixArtPipeline`` and
``MiniSRPipeline`` load on first access (diffusers finds them through a saved pipeline's
model_index.json, and the demos read their call arguments).
"""
from __future__ import annotations

import importlib
import importlib.util

from zoo import hookimpl

from .specs import all_specs

_LAZY = {"MiniPixArtPipeline": "pixart_pipeline", "MiniSRPipeline": "sr_pipeline"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _photo_models():
    """The photo teachers' module, or None while it is not written yet."""
    if importlib.util.find_spec(f"{__name__}.photo_models") is None:
        return None
    return importlib.import_module(".photo_models", __name__)


def _photo_ids() -> set[str]:
    mod = _photo_models()
    return {s.id for s in mod.specs()} if mod is not None else set()


@hookimpl
def register_models(register):
    for spec in all_specs():
        register(spec)
    mod = _photo_models()
    if mod is not None:
        for spec in mod.specs():
            register(spec)


@hookimpl
def build_model(spec):
    if spec.id in _photo_ids():
        return _photo_models().build(spec)
    from .digit_models import build_pipeline

    return build_pipeline(spec.config)


@hookimpl
def train_model(spec, config):
    if spec.id in _photo_ids():
        return _photo_models().train(spec, config)
    from .digit_models import build_pipeline
    from .train_digits import train_digits_teacher

    return train_digits_teacher(spec, config, lambda s: build_pipeline(s.config))


@hookimpl
def eval_model(spec, model, suite, config):
    mod = _photo_models()
    if spec.id in _photo_ids() and hasattr(mod, "eval"):
        return mod.eval(spec, model, suite, config)
    return None  # the digits suite and the cost suite are the core's
