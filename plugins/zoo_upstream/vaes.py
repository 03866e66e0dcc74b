"""AutoencoderKL configs of the teachers (repos' vae/config.json) and their tiny versions."""
from __future__ import annotations

# SD1.x VAE (also sd-vae-ft-ema, which DiT uses): f=8, 4 latent channels.
SD = {
    "in_channels": 3, "out_channels": 3, "latent_channels": 4, "layers_per_block": 2, "norm_num_groups": 32,
    "down_block_types": ["DownEncoderBlock2D"] * 4, "up_block_types": ["UpDecoderBlock2D"] * 4,
    "block_out_channels": [128, 256, 512, 512], "act_fn": "silu", "sample_size": 512, "scaling_factor": 0.18215,
}
# SDXL VAE (PixArt-Sigma): same layout, its own scale.
SDXL = {**SD, "sample_size": 1024, "scaling_factor": 0.13025, "force_upcast": True}
# SD3 VAE: 16 latent channels, shifted and scaled latents, no quant convs.
SD3 = {
    **SD, "latent_channels": 16, "sample_size": 1024, "scaling_factor": 1.5305, "shift_factor": 0.0609,
    "use_quant_conv": False, "use_post_quant_conv": False, "force_upcast": True,
}
# x4 upscaler VAE: three levels (f=4), ch_mult [1, 2, 4] in Stability's x4-upscaling.yaml.
X4 = {
    **SD, "down_block_types": ["DownEncoderBlock2D"] * 3, "up_block_types": ["UpDecoderBlock2D"] * 3,
    "block_out_channels": [128, 256, 512], "sample_size": 256, "scaling_factor": 0.08333,
}

_TINY = {"block_out_channels": [8, 16, 16, 16], "norm_num_groups": 4, "layers_per_block": 1, "sample_size": 64}


def tiny(cfg: dict) -> dict:
    """Same block types and latent layout at toy widths."""
    out = {**cfg, **_TINY}
    out["block_out_channels"] = _TINY["block_out_channels"][: len(cfg["block_out_channels"])]
    return out


def component(cfg: dict) -> dict:
    return {"class": "AutoencoderKL", "config": cfg}
