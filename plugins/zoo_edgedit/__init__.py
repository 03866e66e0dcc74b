"""EdgeDiT (arXiv 2603.28405): DiT-XL/2 pruned per block (merged pairs, MLP ratio 2, 512-wide
attention) by proxies distilled feature-wise and a multi-objective search; registered as
edgedit-teacher / edgedit-1 / edgedit-6 / edgedit-tiny.

Registering the specs imports no torch. The model class loads on first attribute access, so
``zoo_edgedit.EdgeDiTTransformer2DModel`` works (and diffusers finds it in a saved pipeline's
model_index.json, whose library entry is ``zoo_edgedit``).
"""
from __future__ import annotations

from zoo import hookimpl, lazy_exports

from .specs import all_specs

_LAZY = {
    "EdgeDiTTransformer2DModel": "model", "EdgeDiTBlock": "model",
    "from_dit": "convert", "from_teacher": "convert", "compose_narrow": "convert",
}


__getattr__ = lazy_exports(__name__, _LAZY)


@hookimpl
def register_models(register):
    for spec in all_specs():
        register(spec)


@hookimpl
def build_model(spec):
    from .build import build_edgedit_pipeline

    return build_edgedit_pipeline(spec)


@hookimpl
def train_model(spec, config):
    from .train import train_edgedit

    return train_edgedit(spec, config)
