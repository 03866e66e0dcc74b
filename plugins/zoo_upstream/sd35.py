"""Stable Diffusion 3.5 Medium (stabilityai/stable-diffusion-3.5-medium): MMDiT-X, the MM-EDiT and
FraQAT teacher.

Transformer as in the repo's transformer/config.json: 24 joint blocks of 24 heads x 64,
dual (extra self-) attention in blocks 0-12, RMS QK-norm, positional table of 384; the SD3
16-channel VAE; three text encoders (CLIP-L and OpenCLIP bigG with projection, T5 v1.1 XXL);
flow-matching Euler scheduler with shift 3.
"""
from __future__ import annotations

from zoo import ComponentSpec, ModelSpec, PaperRef

from . import encoders, vaes

PAPER = {
    "title": "Scaling Rectified Flow Transformers for High-Resolution Image Synthesis",
    "arxiv": "2403.03206", "venue": "ICML", "year": 2024,
    "authors": "Patrick Esser, Sumith Kulal, Andreas Blattmann, Rahim Entezari, Jonas Müller, Harry Saini, Yam Levi, "
               "Dominik Lorenz, Axel Sauer, Frederic Boesel, Dustin Podell, Tim Dockhorn, Zion English, Kyle Lacey, "
               "Alex Goodwin, Yannik Marek, Robin Rombach",
}
HUB_REPO = "stabilityai/stable-diffusion-3.5-medium"
CLIP_LEN, T5_LEN = 77, 256  # StableDiffusion3Pipeline's tokenizer length and default max_sequence_length

TRANSFORMER = {
    "sample_size": 128, "patch_size": 2, "in_channels": 16, "num_layers": 24, "attention_head_dim": 64,
    "num_attention_heads": 24, "joint_attention_dim": 4096, "caption_projection_dim": 1536,
    "pooled_projection_dim": 2048, "out_channels": 16, "pos_embed_max_size": 384,
    "dual_attention_layers": list(range(13)), "qk_norm": "rms_norm",
}
SCHEDULER = {"num_train_timesteps": 1000, "shift": 3.0}

# Tiny: CLIP widths 32 + 32 -> pooled 64; T5 width 64 = joint dim (the pipeline zero-pads the
# concatenated CLIP states up to the T5 width); inner width 4 x 8 = caption projection.
CLIP_TINY = encoders.CLIP_TINY
T5_TINY = {**encoders.T5_TINY, "d_model": 64}
TRANSFORMER_TINY = {
    **TRANSFORMER, "sample_size": 8, "num_layers": 2, "attention_head_dim": 8, "num_attention_heads": 4,
    "joint_attention_dim": T5_TINY["d_model"], "caption_projection_dim": 32,
    "pooled_projection_dim": 2 * CLIP_TINY["projection_dim"], "pos_embed_max_size": 16, "dual_attention_layers": [0],
}


def pipeline_config(transformer: dict, vae: dict, clip_l: dict, clip_g: dict, t5: dict) -> dict:
    return {
        "pipeline_class": "StableDiffusion3Pipeline",
        "components": {
            "transformer": {"class": "SD3Transformer2DModel", "config": transformer},
            "vae": vaes.component(vae),
            "text_encoder": encoders.clip(clip_l, projection=True),
            "tokenizer": encoders.CLIP_TOKENIZER,
            "text_encoder_2": encoders.clip(clip_g, projection=True),
            "tokenizer_2": encoders.CLIP_TOKENIZER,
            "text_encoder_3": encoders.t5(t5),
            "tokenizer_3": encoders.t5_tokenizer(T5_LEN),
            "scheduler": {"class": "FlowMatchEulerDiscreteScheduler", "config": SCHEDULER},
        },
    }


def components(latent: int, transformer: dict, t5_len: int = T5_LEN):
    ids = {"input_ids": "int64"}
    return [
        ComponentSpec(name="text_encoder", class_name="CLIPTextModelWithProjection", inputs={"input_ids": [1, CLIP_LEN]},
                      input_dtypes=ids),
        ComponentSpec(name="text_encoder_2", class_name="CLIPTextModelWithProjection", inputs={"input_ids": [1, CLIP_LEN]},
                      input_dtypes=ids),
        ComponentSpec(name="text_encoder_3", class_name="T5EncoderModel", inputs={"input_ids": [1, t5_len]}, input_dtypes=ids),
        ComponentSpec(name="transformer", class_name="SD3Transformer2DModel", inputs={
            "hidden_states": [1, 16, latent, latent],
            "encoder_hidden_states": [1, CLIP_LEN + t5_len, transformer["joint_attention_dim"]],
            "pooled_projections": [1, transformer["pooled_projection_dim"]], "timestep": [1]}),
        ComponentSpec(name="vae_decoder", class_name="AutoencoderKL", inputs={"latent_sample": [1, 16, latent, latent]}),
        ComponentSpec(name="vae_encoder", class_name="AutoencoderKL", inputs={"sample": [1, 3, latent * 8, latent * 8]}),
    ]


def specs(tiny_note: str):
    # The Stability AI Community Licence has no Hub licence id: the Hub files it as "other" + license_name.
    common = dict(family="sd35", task="text-to-image", license="other", license_name="stabilityai-ai-community",
                  license_link=f"https://huggingface.co/{HUB_REPO}/blob/main/LICENSE.md", paper=PaperRef(**PAPER),
                  export_targets=["onnx", "coreml", "qnn"])
    return [
        ModelSpec(
            id="sd35-medium", **common, hub_repo=HUB_REPO, weights_by_authors=True, resolution=1024,
            summary="Stable Diffusion 3.5 Medium (MMDiT-X, three text encoders): teacher of MM-EDiT and FraQAT.",
            components=components(128, TRANSFORMER),
            config=pipeline_config(TRANSFORMER, vaes.SD3, encoders.CLIP_L, encoders.OPENCLIP_BIGG, encoders.T5_XXL),
            tags=["mmdit", "stable-diffusion-3", "teacher"],
        ),
        ModelSpec(
            id="sd35-medium-tiny", **common, base_model=HUB_REPO, resolution=64,
            summary=f"SD3.5 Medium tiny. {tiny_note}", components=components(8, TRANSFORMER_TINY, 16),
            config=pipeline_config(TRANSFORMER_TINY, vaes.tiny(vaes.SD3), CLIP_TINY, CLIP_TINY, T5_TINY),
            tags=["mmdit", "stable-diffusion-3", "tiny", "test"],
        ),
    ]
