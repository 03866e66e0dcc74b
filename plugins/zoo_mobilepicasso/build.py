"""Build a MobilePicassoPipeline from its spec: the editor's and the upscaler's components, built
through the registry (``zoo.build``), plus a fresh LatentProjection between their latent spaces."""
from __future__ import annotations

from typing import Any


def compose(spec: Any, editor: Any, up: Any) -> Any:
    """The MobilePicassoPipeline of ``spec`` over a built or loaded editor and upscaler pipeline (components
    shared, not copied) and a fresh LatentProjection."""
    from .pipeline import MobilePicassoPipeline
    from .projection import LatentProjection

    cfg = spec.config
    projection = LatentProjection(in_channels=editor.vae.config.latent_channels,
                                  out_channels=up.vae.config.latent_channels, **cfg["projection"])
    return MobilePicassoPipeline(
        vae=editor.vae, text_encoder=editor.text_encoder, tokenizer=editor.tokenizer, unet=editor.unet,
        scheduler=editor.scheduler, projection=projection, sr_unet=up.unet, sr_vae=up.vae, sr_scheduler=up.scheduler,
        scale=up.config.scale, sr_kwargs={k: v for k, v in up.config.items() if not k.startswith("_") and k not in up.components},
        upscaler_id=cfg["upscaler"], **cfg.get("pipeline_kwargs", {}))


def build_pipeline(spec: Any) -> Any:
    import zoo

    return compose(spec, zoo.build(spec.config["editor"]), zoo.build(spec.config["upscaler"]))
