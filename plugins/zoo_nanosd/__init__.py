"""NanoSD (arXiv 2601.09823): SD1.5 cut to three stages, per-stage block variants distilled
feature-wise, a tiny VAE; registered as nanosd-xs / -s / -m (nanosd-prime) / -l / -tiny.

Registering the specs imports no torch. The model classes load on first attribute access,
so ``zoo_nanosd.NanoSDUNet`` works (and diffusers can find the classes named in a saved
pipeline's model_index.json, whose library entry is ``zoo_nanosd``).
"""
from __future__ import annotations

from zoo import hookimpl, lazy_exports

from .specs import all_specs

_LAZY = {
    "NanoSDUNet": "unet", "build_stage": "unet", "EncoderStage": "unet", "DecoderStage": "unet", "surgery": "unet",
    "NanoSDTinyVAE": "vae", "StagedTeacher": "teacher", "teacher_stages": "teacher",
    "encoder_posterior_loss": "vae_losses", "DecoderFeatureLoss": "vae_losses",
}


__getattr__ = lazy_exports(__name__, _LAZY)


@hookimpl
def register_models(register):
    for spec in all_specs():
        register(spec)


@hookimpl
def build_model(spec):
    from .build import build_nanosd_pipeline

    return build_nanosd_pipeline(spec)


@hookimpl
def train_model(spec, config):
    from .train import train_nanosd

    return train_nanosd(spec, config)
