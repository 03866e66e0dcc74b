"""The digits teachers' architectures: plain diffusers / transformers classes at miniature
widths, sharing one tiny VAE (32x32 RGB <-> 4x8x8 latents).

- mini-sd:     StableDiffusionPipeline = digits CLIP tokenizer + CLIPTextModel + UNet2DConditionModel
               (cross-attention) + AutoencoderKL + DDIM;
- mini-dit:    DiTPipeline = DiTTransformer2DModel (classes 0..9; DiTPipeline's null class is
               1000, so the label table keeps DiT's 1000 rows) + the VAE + DDIM;
- mini-pixart: MiniPixArtPipeline (PixArtSigmaPipeline without resolution binning, which knows
               only PixArt's full sizes) = word-level T5 tokenizer + T5EncoderModel +
               PixArtTransformer2DModel + the VAE + DDIM.

A ``-tiny`` variant of each keeps the classes at toy widths (random weights, plumbing tests).
"""
from __future__ import annotations

from typing import Any

from .tokenizers import CLIP_MAX_LENGTH, clip_vocab_size, t5_vocab_size

LATENT = 8  # latent side: 32 px / 4
LATENT_CHANNELS = 4

VAE = {
    "in_channels": 3, "out_channels": 3, "latent_channels": LATENT_CHANNELS, "sample_size": 32,
    "down_block_types": ["DownEncoderBlock2D"] * 3, "up_block_types": ["UpDecoderBlock2D"] * 3,
    "block_out_channels": [16, 32, 32], "layers_per_block": 1, "norm_num_groups": 8,
    "scaling_factor": 1.0,  # set from the trained encoder's latent std (train_digits.train_vae)
}
VAE_TINY = {**VAE, "block_out_channels": [8, 16, 16], "norm_num_groups": 4}

CLIP_TEXT = {
    "vocab_size": clip_vocab_size(), "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
    "num_attention_heads": 4, "max_position_embeddings": CLIP_MAX_LENGTH, "hidden_act": "quick_gelu",
    "projection_dim": 64, "bos_token_id": clip_vocab_size() - 2, "eos_token_id": clip_vocab_size() - 1,
    "pad_token_id": clip_vocab_size() - 1,
}
CLIP_TEXT_TINY = {**CLIP_TEXT, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "projection_dim": 16}

UNET = {
    "sample_size": LATENT, "in_channels": LATENT_CHANNELS, "out_channels": LATENT_CHANNELS,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    "block_out_channels": [32, 64], "layers_per_block": 1, "cross_attention_dim": 64,
    "attention_head_dim": 4, "norm_num_groups": 16,
}
UNET_TINY = {**UNET, "block_out_channels": [16, 32], "cross_attention_dim": 16, "attention_head_dim": 2, "norm_num_groups": 8}

# SD's training schedule (scaled-linear betas, epsilon prediction), sampled with DDIM.
SCHEDULER = {
    "num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
    "prediction_type": "epsilon", "clip_sample": False, "set_alpha_to_one": False, "steps_offset": 1,
}

DIT_NULL_CLASS = 1000  # DiTPipeline hard-codes the unconditional label as 1000
DIT = {
    "num_attention_heads": 3, "attention_head_dim": 32, "in_channels": LATENT_CHANNELS, "out_channels": LATENT_CHANNELS,
    "num_layers": 4, "dropout": 0.0, "norm_num_groups": 32, "attention_bias": True, "sample_size": LATENT,
    "patch_size": 2, "activation_fn": "gelu-approximate", "num_embeds_ada_norm": DIT_NULL_CLASS,
    "upcast_attention": False, "norm_type": "ada_norm_zero", "norm_elementwise_affine": False, "norm_eps": 1e-5,
}
DIT_TINY = {**DIT, "num_attention_heads": 2, "attention_head_dim": 8, "num_layers": 1}

T5_TEXT = {
    "vocab_size": t5_vocab_size(), "d_model": 64, "d_kv": 16, "d_ff": 128, "num_layers": 2, "num_heads": 4,
    "relative_attention_num_buckets": 8, "relative_attention_max_distance": 16, "dropout_rate": 0.0,
    "layer_norm_epsilon": 1e-6, "feed_forward_proj": "gated-gelu", "tie_word_embeddings": False,
    "is_encoder_decoder": False, "use_cache": False, "pad_token_id": 0, "eos_token_id": 1,
}
T5_TEXT_TINY = {**T5_TEXT, "d_model": 16, "d_kv": 4, "d_ff": 32, "num_layers": 1}

PIXART = {
    "num_attention_heads": 3, "attention_head_dim": 32, "in_channels": LATENT_CHANNELS, "out_channels": LATENT_CHANNELS,
    "num_layers": 4, "dropout": 0.0, "norm_num_groups": 32, "cross_attention_dim": 96, "attention_bias": True,
    "sample_size": LATENT, "patch_size": 2, "activation_fn": "gelu-approximate", "num_embeds_ada_norm": 1000,
    "upcast_attention": False, "norm_type": "ada_norm_single", "norm_elementwise_affine": False, "norm_eps": 1e-6,
    "interpolation_scale": 1, "use_additional_conditions": False, "caption_channels": T5_TEXT["d_model"],
}
PIXART_TINY = {**PIXART, "num_attention_heads": 2, "attention_head_dim": 8, "num_layers": 1, "cross_attention_dim": 16,
               "caption_channels": T5_TEXT_TINY["d_model"]}

PIPELINE_CLASSES = {"sd": "StableDiffusionPipeline", "dit": "DiTPipeline", "pixart": "MiniPixArtPipeline"}


def pipeline_config(kind: str, tiny: bool = False) -> dict[str, Any]:
    """Plain-data component configs of a digits teacher (``kind``: sd, dit or pixart)."""
    vae = {"class": "AutoencoderKL", "config": VAE_TINY if tiny else VAE}
    sched = {"class": "DDIMScheduler", "config": SCHEDULER}
    if kind == "sd":
        comps = {
            "unet": {"class": "UNet2DConditionModel", "config": UNET_TINY if tiny else UNET},
            "text_encoder": {"class": "CLIPTextModel", "library": "transformers", "config": CLIP_TEXT_TINY if tiny else CLIP_TEXT},
            "tokenizer": {"class": "CLIPTokenizer", "library": "transformers", "digits_vocabulary": True},
        }
    elif kind == "dit":
        comps = {"transformer": {"class": "DiTTransformer2DModel", "config": DIT_TINY if tiny else DIT}}
    elif kind == "pixart":
        comps = {
            "transformer": {"class": "PixArtTransformer2DModel", "config": PIXART_TINY if tiny else PIXART},
            "text_encoder": {"class": "T5EncoderModel", "library": "transformers", "config": T5_TEXT_TINY if tiny else T5_TEXT},
            "tokenizer": {"class": "T5TokenizerFast", "library": "transformers", "digits_vocabulary": True},
        }
    else:
        raise ValueError(f"unknown digits teacher kind {kind!r}")
    return {"pipeline_class": PIPELINE_CLASSES[kind], "components": {**comps, "vae": vae, "scheduler": sched}}


def build_component(cfg: dict[str, Any]) -> Any:
    if cfg.get("digits_vocabulary"):
        from .tokenizers import make_digits_clip_tokenizer, make_digits_t5_tokenizer

        return make_digits_clip_tokenizer() if cfg["class"] == "CLIPTokenizer" else make_digits_t5_tokenizer()
    from zoo.building import build_component as core_build

    return core_build(cfg)


def build_pipeline(config: dict[str, Any]) -> Any:
    comps = {name: build_component(c) for name, c in config["components"].items()}
    if config["pipeline_class"] == "MiniPixArtPipeline":
        from .pixart_pipeline import MiniPixArtPipeline

        return MiniPixArtPipeline(**comps)
    if config["pipeline_class"] == "StableDiffusionPipeline":
        # No safety checker: the miniature draws digits.
        comps.update(safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    from zoo.building import build_pipeline as core_pipeline

    return core_pipeline(config["pipeline_class"], comps)
