"""The proving ground's trained miniature teachers, with weights shipped in this package.

Digits teachers (this package's ``digit_models`` / ``train_digits``): ``mini-sd`` (SD-style
text-to-image), ``mini-dit`` (class-conditional DiT), ``mini-pixart`` (PixArt-style
text-to-image), each with a ``-tiny`` random-init variant. Photo teachers (``mini-edit``,
``mini-sr``) live in ``photo_models`` (specs(), build(spec), train(spec, config)), wired in
by model id here; the core's suites (digits, edits, sr, cost) evaluate all of them.

Registering the specs imports no torch. ``zoo_proving.MiniPixArtPipeline``,
``MiniSRPipeline`` and ``MiniEditPipeline`` load on first access (diffusers finds them through a saved pipeline's
model_index.json, and the demos read their call arguments).
"""
from __future__ import annotations

from zoo import hookimpl, lazy_exports

from . import photo_models
from .specs import all_specs

_LAZY = {"MiniPixArtPipeline": "pixart_pipeline", "MiniSRPipeline": "sr_pipeline", "MiniEditPipeline": "edit_pipeline"}


__getattr__ = lazy_exports(__name__, _LAZY)


def _photo_ids() -> set[str]:
    return {s.id for s in photo_models.specs()}


@hookimpl
def register_models(register):
    for spec in all_specs():
        register(spec)
    for spec in photo_models.specs():
        register(spec)


@hookimpl
def build_model(spec):
    if spec.id in _photo_ids():
        return photo_models.build(spec)
    from .digit_models import build_pipeline

    return build_pipeline(spec.config)


@hookimpl
def train_model(spec, config):
    if spec.id in _photo_ids():
        return photo_models.train(spec, config)
    from .digit_models import build_pipeline
    from .train_digits import train_digits_teacher

    return train_digits_teacher(spec, config, lambda s: build_pipeline(s.config))
