"""EC (arXiv 2503.17593): guidance-free image editing with explicit conditioning.

The context image and the prompt set the starting noise y ~ N(mu(c), Sigma(c)) (the VAE
posterior of the image fused with a small "prompt VAE"), and a flow-matching UNet edits with one
pass per step, no classifier-free guidance. Registered as ec-sd15, ec-nanosd-m, ec-mini, ec-tiny.

Registering the specs imports no torch; ``zoo_ec.ECEditPipeline`` and ``zoo_ec.PromptVAE`` load on
first access (diffusers finds them through a saved pipeline's model_index.json).
"""
from __future__ import annotations

from zoo import hookimpl, lazy_exports

from .specs import all_specs

_LAZY = {"ECEditPipeline": "pipeline", "PromptVAE": "prompt_vae"}


__getattr__ = lazy_exports(__name__, _LAZY)


@hookimpl
def register_models(register):
    for spec in all_specs():
        register(spec)


@hookimpl
def build_model(spec):
    from .build import build_ec_pipeline

    return build_ec_pipeline(spec)


@hookimpl
def train_model(spec, config):
    from .train import train_ec

    return train_ec(spec, config)
