"""DiT-XL/2 at 256px (facebook/DiT-XL-2-256): class-conditional ImageNet DiT, the EdgeDiT teacher.

diffusers' DiTTransformer2DModel with the XL/2 config (28 blocks, 16 heads x 72, patch 2,
32x32 latents, learned sigma: 8 output channels, 1000 classes). The stock class gives every
block its own timestep/label embedder, so it counts 749.8M parameters where the original
model, which shares one embedder, has 675M. sd-vae-ft-ema VAE.
"""
from __future__ import annotations

from zoo import Choice, ComponentSpec, ModelSpec, PaperRef

from . import vaes

PAPER = {
    "title": "Scalable Diffusion Models with Transformers", "arxiv": "2212.09748", "venue": "ICCV", "year": 2023,
    "authors": "William Peebles, Saining Xie",
}
HUB_REPO = "facebook/DiT-XL-2-256"

TRANSFORMER = {
    "num_attention_heads": 16, "attention_head_dim": 72, "in_channels": 4, "out_channels": 8, "num_layers": 28,
    "dropout": 0.0, "norm_num_groups": 32, "attention_bias": True, "sample_size": 32, "patch_size": 2,
    "activation_fn": "gelu-approximate", "num_embeds_ada_norm": 1000, "upcast_attention": False,
    "norm_type": "ada_norm_zero", "norm_elementwise_affine": False, "norm_eps": 1e-5,
}
# DiT's training schedule: 1000 linear betas from 1e-4 to 0.02, epsilon prediction.
SCHEDULER = {
    "num_train_timesteps": 1000, "beta_start": 0.0001, "beta_end": 0.02, "beta_schedule": "linear",
    "prediction_type": "epsilon", "clip_sample": False, "set_alpha_to_one": True, "steps_offset": 0,
}
SAMPLER_CHOICE = Choice(
    value="DDIMScheduler",
    why="DiT samples with 250 DDPM steps; the zoo's random-init build uses DDIM over the same linear schedule "
        "(the Hub repo's own scheduler file is loaded with real weights).",
)

TRANSFORMER_TINY = {**TRANSFORMER, "num_attention_heads": 2, "attention_head_dim": 8, "num_layers": 2, "sample_size": 8}


def pipeline_config(transformer: dict, vae: dict) -> dict:
    return {
        "pipeline_class": "DiTPipeline",
        "components": {
            "transformer": {"class": "DiTTransformer2DModel", "config": transformer},
            "vae": vaes.component(vae),
            "scheduler": {"class": "DDIMScheduler", "config": SCHEDULER},
        },
    }


def components(latent: int):
    return [
        ComponentSpec(name="transformer", class_name="DiTTransformer2DModel",
                      inputs={"hidden_states": [1, 4, latent, latent], "timestep": [1], "class_labels": [1]},
                      input_dtypes={"class_labels": "int64"}),
        ComponentSpec(name="vae_decoder", class_name="AutoencoderKL", inputs={"latent_sample": [1, 4, latent, latent]}),
        ComponentSpec(name="vae_encoder", class_name="AutoencoderKL", inputs={"sample": [1, 3, latent * 8, latent * 8]}),
    ]


def specs(tiny_note: str):
    common = dict(family="dit", task="class-conditional-generation", license="cc-by-nc-4.0", paper=PaperRef(**PAPER),
                  export_targets=["onnx", "coreml", "qnn"], choices={"sampler": SAMPLER_CHOICE})
    return [
        ModelSpec(
            id="dit-xl-2-256", **common, hub_repo=HUB_REPO, weights_by_authors=True, resolution=256,
            summary="DiT-XL/2 256px, class-conditional ImageNet: the EdgeDiT teacher.",
            components=components(32), reported={"transformer_params_m": 675.0, "transformer_gflops": 118.6},
            reported_notes={"transformer_params_m": "diffusers' class stores a copy of the embedder in every block "
                            "(749.8M); edgedit-teacher, the same model with one shared embedder, counts 674.8M"},
            config=pipeline_config(TRANSFORMER, {**vaes.SD, "sample_size": 256}), tags=["dit", "imagenet", "teacher"],
        ),
        ModelSpec(
            id="dit-xl-2-256-tiny", **common, base_model=HUB_REPO, resolution=64,
            summary=f"DiT-XL/2 tiny. {tiny_note}", components=components(8),
            config=pipeline_config(TRANSFORMER_TINY, vaes.tiny(vaes.SD)), tags=["dit", "imagenet", "tiny", "test"],
        ),
    ]
