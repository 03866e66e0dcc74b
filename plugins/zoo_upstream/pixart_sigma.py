"""PixArt-Sigma XL/2 at 1024px (PixArt-alpha/PixArt-Sigma-XL-2-1024-MS), the EDiT and FraQAT teacher.

Transformer config as in the repo's transformer/config.json (28 blocks, 16 heads x 72, T5
captions of 4096 channels, 300 tokens, no micro-conditions, interpolation scale 2); SDXL VAE;
T5 v1.1 XXL encoder; DPM-Solver++ (2M) scheduler.
"""
from __future__ import annotations

from zoo import ComponentSpec, ModelSpec, PaperRef

from . import encoders, vaes

PAPER = {
    "title": "PixArt-Σ: Weak-to-Strong Training of Diffusion Transformer for 4K Text-to-Image Generation",
    "arxiv": "2403.04692", "venue": "ECCV", "year": 2024,
    "authors": "Junsong Chen, Chongjian Ge, Enze Xie, Yue Wu, Lewei Yao, Xiaozhe Ren, Zhongdao Wang, Ping Luo, Huchuan Lu, Zhenguo Li",
}
HUB_REPO = "PixArt-alpha/PixArt-Sigma-XL-2-1024-MS"
TEXT_LEN = 300  # PixArt-Sigma's T5 token budget

TRANSFORMER = {
    "num_attention_heads": 16, "attention_head_dim": 72, "in_channels": 4, "out_channels": 8, "num_layers": 28,
    "dropout": 0.0, "norm_num_groups": 32, "cross_attention_dim": 1152, "attention_bias": True, "sample_size": 128,
    "patch_size": 2, "activation_fn": "gelu-approximate", "num_embeds_ada_norm": 1000, "upcast_attention": False,
    "norm_type": "ada_norm_single", "norm_elementwise_affine": False, "norm_eps": 1e-6, "interpolation_scale": 2,
    "use_additional_conditions": False, "caption_channels": 4096, "attention_type": "default",
}
SCHEDULER = {
    "num_train_timesteps": 1000, "beta_start": 0.0001, "beta_end": 0.02, "beta_schedule": "linear",
    "prediction_type": "epsilon", "solver_order": 2, "algorithm_type": "dpmsolver++", "solver_type": "midpoint",
    "lower_order_final": True, "use_karras_sigmas": False, "timestep_spacing": "linspace", "steps_offset": 0,
}

TRANSFORMER_TINY = {
    **TRANSFORMER, "num_attention_heads": 2, "attention_head_dim": 16, "num_layers": 2, "cross_attention_dim": 32,
    "sample_size": 8, "interpolation_scale": 1, "caption_channels": encoders.T5_TINY["d_model"],
}


def pipeline_config(transformer: dict, vae: dict, text_encoder: dict) -> dict:
    return {
        "pipeline_class": "PixArtSigmaPipeline",
        "components": {
            "transformer": {"class": "PixArtTransformer2DModel", "config": transformer},
            "vae": vaes.component(vae),
            "text_encoder": encoders.t5(text_encoder),
            "tokenizer": encoders.t5_tokenizer(TEXT_LEN),
            "scheduler": {"class": "DPMSolverMultistepScheduler", "config": SCHEDULER},
        },
    }


def components(latent: int, caption_channels: int, text_len: int = TEXT_LEN):
    return [
        ComponentSpec(name="text_encoder", class_name="T5EncoderModel", inputs={"input_ids": [1, text_len]},
                      input_dtypes={"input_ids": "int64"}),
        ComponentSpec(name="transformer", class_name="PixArtTransformer2DModel",
                      inputs={"hidden_states": [1, 4, latent, latent], "encoder_hidden_states": [1, text_len, caption_channels],
                              "timestep": [1]}),
        ComponentSpec(name="vae_decoder", class_name="AutoencoderKL", inputs={"latent_sample": [1, 4, latent, latent]}),
        ComponentSpec(name="vae_encoder", class_name="AutoencoderKL", inputs={"sample": [1, 3, latent * 8, latent * 8]}),
    ]


def specs(tiny_note: str):
    paper = PaperRef(**PAPER)
    common = dict(family="pixart-sigma", task="text-to-image", license="openrail++", paper=paper,
                  export_targets=["onnx", "coreml", "qnn"])
    return [
        ModelSpec(
            id="pixart-sigma", **common, hub_repo=HUB_REPO, weights_by_authors=True, resolution=1024,
            summary="PixArt-Sigma XL/2 1024px: DiT text-to-image teacher of EDiT and FraQAT.",
            components=components(128, 4096), reported={"transformer_params_m": 600.0},
            config=pipeline_config(TRANSFORMER, vaes.SDXL, encoders.T5_XXL), tags=["dit", "pixart", "teacher"],
        ),
        ModelSpec(
            id="pixart-sigma-tiny", **common, base_model=HUB_REPO, resolution=64,
            summary=f"PixArt-Sigma tiny. {tiny_note}", components=components(8, encoders.T5_TINY["d_model"], 16),
            config=pipeline_config(TRANSFORMER_TINY, vaes.tiny(vaes.SDXL), encoders.T5_TINY),
            tags=["dit", "pixart", "tiny", "test"],
        ),
    ]
