"""Stable Diffusion x4 upscaler (stabilityai/stable-diffusion-x4-upscaler): the SR demo baseline.

Config from Stability's x4-upscaling.yaml as diffusers lays it out: a 4-level UNet (256-512-
512-1024) taking the noisy latent and the low-res RGB image (4 + 3 channels), cross-attention
in levels 2-4 with self-attention disabled in the first three (only_cross_attention), the noise
level as a class label (1000 classes), linear transformer projections, OpenCLIP ViT-H text
(penultimate layer), a 3-level f=4 VAE; v-prediction.
"""
from __future__ import annotations

from zoo import ModelSpec, PaperRef

from . import encoders, sd15, vaes

PAPER = {
    "title": "High-Resolution Image Synthesis with Latent Diffusion Models", "arxiv": "2112.10752", "venue": "CVPR",
    "year": 2022, "authors": "Robin Rombach, Andreas Blattmann, Dominik Lorenz, Patrick Esser, Björn Ommer",
}
HUB_REPO = "stabilityai/stable-diffusion-x4-upscaler"

UNET = {
    "sample_size": 128, "in_channels": 7, "out_channels": 4, "flip_sin_to_cos": True, "freq_shift": 0,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    "only_cross_attention": [True, True, True, False], "block_out_channels": [256, 512, 512, 1024],
    "layers_per_block": 2, "downsample_padding": 1, "mid_block_scale_factor": 1, "act_fn": "silu",
    "norm_num_groups": 32, "norm_eps": 1e-5, "cross_attention_dim": 1024, "attention_head_dim": 8,
    "use_linear_projection": True, "num_class_embeds": 1000,
}
SCHEDULER = {
    "num_train_timesteps": 1000, "beta_start": 0.0001, "beta_end": 0.02, "beta_schedule": "scaled_linear",
    "prediction_type": "v_prediction", "clip_sample": False, "set_alpha_to_one": False, "steps_offset": 1,
}
# Noise added to the low-res image (image space), max level 350 as in the yaml.
LOW_RES_SCHEDULER = {"num_train_timesteps": 1000, "beta_start": 0.0001, "beta_end": 0.02, "beta_schedule": "scaled_linear"}
MAX_NOISE_LEVEL = 350

UNET_TINY = {
    **UNET, "sample_size": 16, "block_out_channels": [32, 32, 64, 64], "layers_per_block": 1,
    "cross_attention_dim": 32, "attention_head_dim": 4, "norm_num_groups": 8,
}


def pipeline_config(unet: dict, vae: dict, text_encoder: dict) -> dict:
    return {
        "pipeline_class": "StableDiffusionUpscalePipeline",
        "components": {
            "unet": {"class": "UNet2DConditionModel", "config": unet},
            "vae": vaes.component(vae),
            "text_encoder": encoders.clip(text_encoder),
            "tokenizer": encoders.CLIP_TOKENIZER,
            "scheduler": {"class": "DDIMScheduler", "config": SCHEDULER},
            "low_res_scheduler": {"class": "DDPMScheduler", "config": LOW_RES_SCHEDULER},
        },
        "pipeline_kwargs": {"safety_checker": None, "feature_extractor": None, "watermarker": None,
                            "max_noise_level": MAX_NOISE_LEVEL},
    }


def components(latent: int, hidden: int):
    """``latent`` is the low-res input side: the latent has the same side, the output is 4x."""
    # UNet input: noisy latent (4) + low-res RGB (3); the noise level goes in as class_labels.
    return sd15.sd_components(latent, hidden, unet_in=7, vae_factor=4, unet_extra={"class_labels": [1]},
                              unet_extra_dtypes={"class_labels": "int64"})


def specs(tiny_note: str):
    common = dict(family="sd-x4-upscaler", task="super-resolution", license="openrail++", paper=PaperRef(**PAPER),
                  export_targets=["onnx", "coreml", "qnn"])
    return [
        ModelSpec(
            id="sd-x4-upscaler", **common, hub_repo=HUB_REPO, weights_by_authors=True, resolution=512,
            summary="Stable Diffusion x4 upscaler (128 -> 512 px): the super-resolution demo baseline.",
            components=components(128, 1024), config=pipeline_config(UNET, vaes.X4, encoders.OPENCLIP_H),
            tags=["stable-diffusion", "super-resolution", "baseline"],
        ),
        ModelSpec(
            id="sd-x4-upscaler-tiny", **common, base_model=HUB_REPO, resolution=64,
            summary=f"SD x4 upscaler tiny. {tiny_note}", components=components(16, 32),
            config=pipeline_config(UNET_TINY, vaes.tiny(vaes.X4), encoders.CLIP_TINY),
            tags=["stable-diffusion", "super-resolution", "tiny", "test"],
        ),
    ]
