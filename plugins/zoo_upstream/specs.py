"""ModelSpecs of the upstream teachers and their tiny test variants."""
from __future__ import annotations

from zoo import ModelSpec, PaperRef

from . import dit, instruct_pix2pix, pixart_sigma, sd15, sd35, sd_upscaler

SD15_PAPER = PaperRef(
    title="High-Resolution Image Synthesis with Latent Diffusion Models", arxiv="2112.10752", venue="CVPR", year=2022,
    authors="Robin Rombach, Andreas Blattmann, Dominik Lorenz, Patrick Esser, Björn Ommer",
)
TINY_NOTE = "Same classes and block layout as the teacher at toy widths, random weights: for tests."


def all_specs() -> list[ModelSpec]:
    return [
        ModelSpec(
            id="sd15", family="sd15", task="text-to-image",
            summary="Stable Diffusion 1.5: the teacher of NanoSD, TOC-SR, MTU, EC and attention reuse.",
            hub_repo="stable-diffusion-v1-5/stable-diffusion-v1-5", weights_by_authors=True, license="creativeml-openrail-m",
            paper=SD15_PAPER, components=sd15.sd_components(64, 768), resolution=512,
            config=sd15.pipeline_config(sd15.UNET, sd15.VAE, sd15.TEXT_ENCODER),
            tags=["stable-diffusion", "teacher"], export_targets=["onnx", "coreml", "qnn"],
        ),
        ModelSpec(
            id="sd15-tiny", family="sd15", task="text-to-image", summary=f"SD1.5 tiny. {TINY_NOTE}",
            base_model="stable-diffusion-v1-5/stable-diffusion-v1-5", license="creativeml-openrail-m",
            paper=SD15_PAPER, components=sd15.sd_components(8, 32), resolution=64,
            config=sd15.pipeline_config(sd15.UNET_TINY, sd15.VAE_TINY, sd15.TEXT_ENCODER_TINY),
            tags=["stable-diffusion", "tiny", "test"], export_targets=["onnx", "coreml", "qnn"],
        ),
        *pixart_sigma.specs(TINY_NOTE),
        *sd35.specs(TINY_NOTE),
        *dit.specs(TINY_NOTE),
        *sd_upscaler.specs(TINY_NOTE),
        *instruct_pix2pix.specs(TINY_NOTE),
    ]
