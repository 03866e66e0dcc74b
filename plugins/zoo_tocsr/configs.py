"""Plain-data configs of the TOC-SR family (no torch)."""
from __future__ import annotations

# SD1.5's UNet config (stable-diffusion-v1-5) with a 16-channel latent in and out [choice from toc-sr.md].
TEACHER_UNET = {
    "sample_size": 64, "in_channels": 16, "out_channels": 16, "flip_sin_to_cos": True, "freq_shift": 0,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    "block_out_channels": [320, 640, 1280, 1280], "layers_per_block": 2, "downsample_padding": 1,
    "mid_block_scale_factor": 1, "act_fn": "silu", "norm_num_groups": 32, "norm_eps": 1e-5,
    "cross_attention_dim": 768, "attention_head_dim": 8,
}
# The same classes and layout at toy widths: the same code paths in milliseconds.
TINY_UNET = {**TEACHER_UNET, "sample_size": 8, "block_out_channels": [32, 64, 64, 64], "cross_attention_dim": 32,
             "attention_head_dim": 4, "norm_num_groups": 8}

# f8c16 AutoencoderKL: SD's VAE layout with 16 latent channels (as SD3's / FLUX's VAE) [choice].
VAE_F8C16 = {
    "in_channels": 3, "out_channels": 3, "latent_channels": 16, "layers_per_block": 2, "norm_num_groups": 32,
    "down_block_types": ["DownEncoderBlock2D"] * 4, "up_block_types": ["UpDecoderBlock2D"] * 4,
    "block_out_channels": [128, 256, 512, 512], "act_fn": "silu", "sample_size": 512,
    "scaling_factor": 1.5305, "shift_factor": 0.0609,
}
VAE_TINY = {**VAE_F8C16, "block_out_channels": [8, 16, 16, 16], "norm_num_groups": 4, "layers_per_block": 1,
            "sample_size": 64, "scaling_factor": 1.0, "shift_factor": 0.0}

SCHEDULER = {
    "num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
    "clip_sample": False, "set_alpha_to_one": False, "steps_offset": 1,
}

# tocsr-x4-mini [choice]: the tiny UNet layout (blocks from its own search) on an f2c16 VAE for 32x32 patches.
MINI_UNET = {**TINY_UNET, "sample_size": 16}
MINI_VAE = {
    "in_channels": 3, "out_channels": 3, "latent_channels": 16, "layers_per_block": 1, "norm_num_groups": 8,
    "down_block_types": ["DownEncoderBlock2D"] * 2, "up_block_types": ["UpDecoderBlock2D"] * 2,
    "block_out_channels": [32, 32], "act_fn": "silu", "sample_size": 32, "mid_block_add_attention": False,
    "scaling_factor": 1.0,
}
MINI_TIMESTEP = 49  # [choice] sqrt(alpha_bar) ~ 0.97: near-identity start, the UNet's eps term ~0.22x


