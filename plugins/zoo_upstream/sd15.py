"""SD1.5 (stable-diffusion-v1-5/stable-diffusion-v1-5): configs as in the repo's config files."""
from __future__ import annotations

from typing import Optional

UNET = {
    "sample_size": 64, "in_channels": 4, "out_channels": 4, "flip_sin_to_cos": True, "freq_shift": 0,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    "block_out_channels": [320, 640, 1280, 1280], "layers_per_block": 2, "downsample_padding": 1,
    "mid_block_scale_factor": 1, "act_fn": "silu", "norm_num_groups": 32, "norm_eps": 1e-5,
    "cross_attention_dim": 768, "attention_head_dim": 8,
}
VAE = {
    "in_channels": 3, "out_channels": 3, "latent_channels": 4, "layers_per_block": 2, "norm_num_groups": 32,
    "down_block_types": ["DownEncoderBlock2D"] * 4, "up_block_types": ["UpDecoderBlock2D"] * 4,
    "block_out_channels": [128, 256, 512, 512], "act_fn": "silu", "sample_size": 512, "scaling_factor": 0.18215,
}
TEXT_ENCODER = {
    "vocab_size": 49408, "hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
    "num_attention_heads": 12, "max_position_embeddings": 77, "hidden_act": "quick_gelu", "projection_dim": 768,
    "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1,
}
SCHEDULER = {
    "num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
    "skip_prk_steps": True, "set_alpha_to_one": False, "steps_offset": 1, "clip_sample": False,
}

# Same classes and block layout at toy widths: runs the same code paths in milliseconds.
UNET_TINY = {
    **UNET, "sample_size": 8, "block_out_channels": [32, 64, 64, 64], "layers_per_block": 2,
    "cross_attention_dim": 32, "attention_head_dim": 4, "norm_num_groups": 8,
}
VAE_TINY = {**VAE, "block_out_channels": [8, 16, 16, 16], "norm_num_groups": 4, "layers_per_block": 1, "sample_size": 64}
TEXT_ENCODER_TINY = {
    **TEXT_ENCODER, "vocab_size": 1000, "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2,
    "num_attention_heads": 4, "projection_dim": 32,
}


def pipeline_config(unet: dict, vae: dict, text_encoder: dict) -> dict:
    return {
        "pipeline_class": "StableDiffusionPipeline",
        "components": {
            "unet": {"class": "UNet2DConditionModel", "config": unet},
            "vae": {"class": "AutoencoderKL", "config": vae},
            "text_encoder": {"class": "CLIPTextModel", "library": "transformers", "config": text_encoder},
            "tokenizer": {"class": "CLIPTokenizer", "library": "transformers", "generated": True},
            "scheduler": {"class": "PNDMScheduler", "config": SCHEDULER},
        },
        "pipeline_kwargs": {"safety_checker": None, "feature_extractor": None, "requires_safety_checker": False},
    }


def sd_components(latent: int, hidden: int, latent_ch: int = 4, text_len: int = 77, unet_in: Optional[int] = None,
                  vae_factor: int = 8, unet_extra: Optional[dict] = None, unet_extra_dtypes: Optional[dict] = None):
    """Static export shapes of a Stable-Diffusion-style pipeline for a square latent of side ``latent``.

    ``unet_in`` is the UNet's input channels where it differs from the latent's (image
    conditioning is concatenated: 8 for InstructPix2Pix, 7 for the x4 upscaler);
    ``unet_extra`` adds UNet inputs such as the upscaler's noise-level ``class_labels``.
    """
    from zoo import ComponentSpec

    return [
        ComponentSpec(name="text_encoder", class_name="CLIPTextModel", inputs={"input_ids": [1, text_len]},
                      input_dtypes={"input_ids": "int64"}),
        ComponentSpec(name="unet", class_name="UNet2DConditionModel",
                      inputs={"sample": [1, unet_in or latent_ch, latent, latent], "timestep": [1],
                              "encoder_hidden_states": [1, text_len, hidden], **(unet_extra or {})},
                      input_dtypes=dict(unet_extra_dtypes or {})),
        ComponentSpec(name="vae_decoder", class_name="AutoencoderKL", inputs={"latent_sample": [1, latent_ch, latent, latent]}),
        ComponentSpec(name="vae_encoder", class_name="AutoencoderKL",
                      inputs={"sample": [1, 3, latent * vae_factor, latent * vae_factor]}),
    ]
