"""InstructPix2Pix (timbrooks/instruct-pix2pix): instruction-guided image editing, the EC baseline
(three-pass CFG) and the MTU / MobilePicasso editing teacher.

The SD1.5 architecture with 8 UNet input channels (noisy latent + latent of the input image),
CLIP ViT-L text encoder, SD VAE, Euler-ancestral scheduler.
"""
from __future__ import annotations

from zoo import ModelSpec, PaperRef

from . import encoders, sd15, vaes

PAPER = {
    "title": "InstructPix2Pix: Learning to Follow Image Editing Instructions", "arxiv": "2211.09800", "venue": "CVPR",
    "year": 2023, "authors": "Tim Brooks, Aleksander Holynski, Alexei A. Efros",
}
HUB_REPO = "timbrooks/instruct-pix2pix"

UNET = {**sd15.UNET, "in_channels": 8}
UNET_TINY = {**sd15.UNET_TINY, "in_channels": 8}
SCHEDULER = {
    "num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
    "prediction_type": "epsilon", "steps_offset": 1,
}


def pipeline_config(unet: dict, vae: dict, text_encoder: dict) -> dict:
    return {
        "pipeline_class": "StableDiffusionInstructPix2PixPipeline",
        "components": {
            "unet": {"class": "UNet2DConditionModel", "config": unet},
            "vae": vaes.component(vae),
            "text_encoder": encoders.clip(text_encoder),
            "tokenizer": encoders.CLIP_TOKENIZER,
            "scheduler": {"class": "EulerAncestralDiscreteScheduler", "config": SCHEDULER},
        },
        "pipeline_kwargs": {"safety_checker": None, "feature_extractor": None, "requires_safety_checker": False},
    }


def components(latent: int, hidden: int):
    return sd15.sd_components(latent, hidden, unet_in=8)  # UNet input: noisy latent + image latent


def specs(tiny_note: str):
    common = dict(family="instruct-pix2pix", task="image-editing", license="mit", paper=PaperRef(**PAPER),
                  export_targets=["onnx", "coreml", "qnn"])
    return [
        ModelSpec(
            id="instruct-pix2pix", **common, hub_repo=HUB_REPO, weights_by_authors=True, resolution=512,
            summary="InstructPix2Pix: SD1.5-based instruction image editing; EC, MTU and MobilePicasso baseline.",
            components=components(64, 768), config=pipeline_config(UNET, vaes.SD, encoders.CLIP_L),
            tags=["stable-diffusion", "image-editing", "baseline"],
        ),
        ModelSpec(
            id="instruct-pix2pix-tiny", **common, base_model=HUB_REPO, resolution=64,
            summary=f"InstructPix2Pix tiny. {tiny_note}", components=components(8, 32),
            config=pipeline_config(UNET_TINY, sd15.VAE_TINY, encoders.CLIP_TINY),
            tags=["stable-diffusion", "image-editing", "tiny", "test"],
        ),
    ]
