"""MobilePicasso (arXiv 2510.06295): high-resolution (4K) instruction editing at flat memory.

Registered: ``mobilepicasso`` (InstructPix2Pix editor + tocsr-x4 upscaler) and ``mobilepicasso-tiny``.
Registering imports no torch; ``zoo_mobilepicasso.MobilePicassoPipeline`` / ``LatentProjection`` load
on first access (diffusers finds them through a saved pipeline's model_index.json).
"""
from __future__ import annotations


from zoo import hookimpl, lazy_exports

from .specs import all_specs

_LAZY = {"MobilePicassoPipeline": "pipeline", "LatentProjection": "projection"}


__getattr__ = lazy_exports(__name__, _LAZY)


@hookimpl
def register_models(register):
    for spec in all_specs():
        register(spec)


@hookimpl
def build_model(spec):
    from .build import build_pipeline

    return build_pipeline(spec)


@hookimpl
def train_model(spec, config):
    from .train import train_mobilepicasso

    return train_mobilepicasso(spec, config)
