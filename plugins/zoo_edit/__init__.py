"""EDiT / MM-EDiT (arXiv 2503.16726): linear compressed attention for PixArt-Sigma and SD3.5-Medium,
as the techniques ``edit`` and ``mm-edit`` and the models ``edit-pixart-sigma``, ``mm-edit-sd35m``
(+ ``-tiny``).

    pipe = zoo.load("mini-pixart", techniques=["edit"])              # convert a trained teacher
    pipe = zoo.load("pixart-sigma", techniques={"edit": {"weights": "runs/edit/transformer.safetensors"}})
    zoo_edit.remove(pipe)                                            # the stock transformer again
    zoo train mini-pixart --recipe edit-distill --out runs/edit      # distil the converted model

Registering imports no torch; the model classes load on first attribute access (diffusers finds
``zoo_edit.EDiTPixArtTransformer2DModel`` through a saved pipeline's model_index.json).
"""
from __future__ import annotations

from zoo import hookimpl, lazy_exports

from .specs import TECHNIQUES, all_specs

_LAZY = {
    "EDiTPixArtTransformer2DModel": "models", "MMEDiTSD3Transformer2DModel": "models", "convert": "models",
    "unconvert": "models", "remove": "technique",
    "ConvFusion": "modules", "SpatialCompressor": "modules", "linear_attention": "modules",
    "EDiTAttnProcessor": "modules", "MMEDiTJointAttnProcessor": "modules",
}


__getattr__ = lazy_exports(__name__, _LAZY)


@hookimpl
def register_models(register):
    for spec in all_specs():
        register(spec)


@hookimpl
def register_techniques(register):
    for t in TECHNIQUES:
        register(t)


@hookimpl
def build_model(spec):
    from .technique import build_converted

    return build_converted(spec)


@hookimpl
def apply_technique(technique, spec, model, config):
    from .technique import apply_edit

    return apply_edit(technique.id, model, config)


@hookimpl
def train_technique(technique, spec, config):
    from .distill import train_recipe

    return train_recipe(technique, spec, config)
