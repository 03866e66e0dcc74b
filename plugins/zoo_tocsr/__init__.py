"""TOC-SR (arXiv 2605.02767): one-step x4 super-resolution on a compact 16-channel UNet.

Registered: ``tocsr-teacher`` (SD1.5's UNet at 16 latent channels + an f8c16 VAE), ``tocsr-x4``
(the compact UNet from the surrogate library, ~130M params), ``tocsr-x4-tiny`` (tests).
Registering imports no torch; ``zoo_tocsr.TOCSRUNet`` / ``TOCSRPipeline`` load on first access
(diffusers finds them through a saved pipeline's model_index.json).
"""
from __future__ import annotations


from zoo import hookimpl, lazy_exports

from .specs import all_specs

_LAZY = {"TOCSRUNet": "unet", "TOCSRPipeline": "pipeline", "BottleneckResnet": "library",
         "DroppedTransformer": "library"}


__getattr__ = lazy_exports(__name__, _LAZY)


@hookimpl
def register_models(register):
    for spec in all_specs():
        register(spec)


@hookimpl
def build_model(spec):
    from zoo.building import build_component

    from .pipeline import TOCSRPipeline

    comps = {name: build_component(c) for name, c in spec.config["components"].items()}
    return TOCSRPipeline(**comps, **spec.config.get("pipeline_kwargs", {}))


@hookimpl
def train_model(spec, config):
    if spec.id == "tocsr-x4-mini":
        from zoo.distill import validate

        from .mini import MiniConfig, train_mini

        return train_mini(validate(MiniConfig, dict(config or {}), "tocsr-x4-mini training config"))
    from .train import train_tocsr

    return train_tocsr(spec, config)
