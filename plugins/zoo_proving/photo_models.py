"""The photo teachers of the proving ground: ``mini-edit`` and ``mini-sr`` (+ ``-tiny`` variants).

- mini-edit: StableDiffusionInstructPix2PixPipeline = word-level CLIP tokenizer over the edit
  instructions + CLIPTextModel + UNet2DConditionModel with 8 input channels (noisy latent + latent
  of the input image) + AutoencoderKL (32x32 RGB <-> 4x16x16) + DDIM, trained on ``zoo.proving.edits``.
- mini-sr: MiniSRPipeline = UNet2DModel conditioned on the bicubic x4 upsample by channel
  concatenation, denoising the residual over bicubic; DDIM sampling; any input size through zoo.tiling.

The plugin's hooks call ``specs()``, ``build(spec)`` and ``train(spec, config)``.
"""
from __future__ import annotations

from typing import Any

from zoo import Choice, ComponentSpec, ModelSpec

EDIT_SIZE = 32  # edit crops are 32x32 px
EDIT_LATENT = 16  # the VAE halves the side (two blocks)
SR_SCALE = 4
SR_PATCH = 32  # HR training patch (LR 8x8): a fully convolutional UNet runs at any size after

EDIT_VAE = {
    "in_channels": 3, "out_channels": 3, "latent_channels": 4, "sample_size": EDIT_SIZE,
    "down_block_types": ["DownEncoderBlock2D"] * 2, "up_block_types": ["UpDecoderBlock2D"] * 2,
    "block_out_channels": [16, 32], "layers_per_block": 1, "norm_num_groups": 8,
    "scaling_factor": 1.0,  # set from the trained encoder's latent std (train_photos)
}
EDIT_VAE_TINY = {**EDIT_VAE, "block_out_channels": [8, 8], "norm_num_groups": 4}
EDIT_UNET = {
    "sample_size": EDIT_LATENT, "in_channels": 8, "out_channels": 4,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"], "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D"],
    "block_out_channels": [32, 64], "layers_per_block": 1, "cross_attention_dim": 64,
    "attention_head_dim": 8, "norm_num_groups": 16,
}
EDIT_UNET_TINY = {**EDIT_UNET, "block_out_channels": [16, 32], "cross_attention_dim": 16, "attention_head_dim": 4,
                  "norm_num_groups": 8}
EDIT_MAX_LENGTH = 8  # bos + the longest instruction (5 words) + eos, with room to spare


def _edit_vocabulary() -> list[str]:
    from zoo.proving.edits import INSTRUCTIONS

    words: list[str] = []
    for text in INSTRUCTIONS.values():
        words += [w for w in text.split() if w not in words]
    return words


def _clip_text(tiny: bool) -> dict[str, Any]:
    from .tokenizers import clip_vocab_size

    n = clip_vocab_size(_edit_vocabulary())
    width = 16 if tiny else 64
    return {
        "vocab_size": n, "hidden_size": width, "intermediate_size": 2 * width, "num_hidden_layers": 1 if tiny else 2,
        "num_attention_heads": 4, "max_position_embeddings": EDIT_MAX_LENGTH, "hidden_act": "quick_gelu",
        "projection_dim": width, "bos_token_id": n - 2, "eos_token_id": n - 1, "pad_token_id": n - 1,
    }


# v-prediction on the cosine schedule with trailing timesteps: sampling starts at (near) zero SNR
# and the x0 estimate is good at every noise level, so few DDIM steps give a sharp result.
SCHEDULER = {
    "num_train_timesteps": 1000, "beta_schedule": "squaredcos_cap_v2", "prediction_type": "v_prediction",
    "clip_sample": False, "set_alpha_to_one": True, "timestep_spacing": "trailing",
}

SR_UNET = {
    "sample_size": SR_PATCH, "in_channels": 6, "out_channels": 3,
    "down_block_types": ["DownBlock2D"] * 3, "up_block_types": ["UpBlock2D"] * 3,
    "block_out_channels": [32, 64, 64], "layers_per_block": 1, "norm_num_groups": 16,
}
SR_UNET_TINY = {**SR_UNET, "block_out_channels": [8, 16, 16], "norm_num_groups": 4}


def edit_config(tiny: bool = False) -> dict[str, Any]:
    return {
        "pipeline_class": "MiniEditPipeline",
        "components": {
            "unet": {"class": "UNet2DConditionModel", "config": EDIT_UNET_TINY if tiny else EDIT_UNET},
            "vae": {"class": "AutoencoderKL", "config": EDIT_VAE_TINY if tiny else EDIT_VAE},
            "text_encoder": {"class": "CLIPTextModel", "library": "transformers", "config": _clip_text(tiny)},
            "tokenizer": {"class": "CLIPTokenizer", "library": "transformers", "edits_vocabulary": True},
            "scheduler": {"class": "DDIMScheduler", "config": SCHEDULER},
        },
        "pipeline_kwargs": {"safety_checker": None, "feature_extractor": None, "requires_safety_checker": False,
                            "residual_output": True},
        "edit_size": EDIT_SIZE,
        # No classifier-free guidance for the quality metric: a deterministic edit wants the conditional mean.
        "call_kwargs": {"num_inference_steps": 1, "guidance_scale": 1.0, "image_guidance_scale": 1.0},
    }


def sr_config(tiny: bool = False) -> dict[str, Any]:
    return {
        "pipeline_class": "MiniSRPipeline",
        "components": {
            "unet": {"class": "UNet2DModel", "config": SR_UNET_TINY if tiny else SR_UNET},
            "scheduler": {"class": "DDIMScheduler", "config": SCHEDULER},
        },
        "scale": SR_SCALE,
        "call_kwargs": {"num_inference_steps": 1},
    }


PACKAGE = "zoo_proving"
_MINI_NOTE = ("A miniature model of the zoo's proving ground, trained from scratch on CPU in minutes on crops of the "
              "photos that ship with scikit-image / scikit-learn / matplotlib (zoo.proving.photos 'train' split); the "
              "held-out photos (astronaut, coffee, flower) are never seen. Its weights ship inside the zoo_proving package.")
_TINY_NOTE = "Random weights by design: runs the same code paths in well under a second for tests."


def _edit_components(tiny: bool) -> list[ComponentSpec]:
    """mini-edit's export / cost components at the variant's widths, example ids inside its vocabulary."""
    unet, text = EDIT_UNET_TINY if tiny else EDIT_UNET, _clip_text(tiny)
    return [
        ComponentSpec(name="unet", class_name="UNet2DConditionModel",
                      inputs={"sample": [1, 8, EDIT_LATENT, EDIT_LATENT], "timestep": [1],
                              "encoder_hidden_states": [1, EDIT_MAX_LENGTH, unet["cross_attention_dim"]]}),
        ComponentSpec(name="vae_decoder", class_name="AutoencoderKL", inputs={"z": [1, 4, EDIT_LATENT, EDIT_LATENT]}),
        ComponentSpec(name="vae_encoder", class_name="AutoencoderKL", inputs={"x": [1, 3, EDIT_SIZE, EDIT_SIZE]}),
        ComponentSpec(name="text_encoder", class_name="CLIPTextModel", inputs={"input_ids": [1, EDIT_MAX_LENGTH]},
                      input_dtypes={"input_ids": "int64"}, input_high={"input_ids": text["vocab_size"]}),
    ]


def specs() -> list[ModelSpec]:
    edit_choices = {
        "prediction_type": Choice(value="v_prediction, cosine schedule, trailing timesteps",
                                  why="the x0 estimate stays good at every noise level (the 1-step sampler returns "
                                  "it from t=999; more DDIM steps still work)", field="config: components.scheduler"),
        "edit_size": Choice(value=EDIT_SIZE, why="32x32 crops keep CPU training to minutes", field="config: edit_size"),
        "output": Choice(value="residual: input + D(z_edit) - D(z_input) (MiniEditPipeline)",
                         why="the miniature VAE reconstructs held-out crops at about 25 dB; the input's own "
                         "reconstruction error cancels, so what the edit leaves unchanged keeps the input's detail "
                         "(InstructPix2Pix returns D(z_edit); residual_output=False does)",
                         field="config: pipeline_kwargs.residual_output"),
        "sampler": Choice(value="DDIM, 1 step (x0 from pure noise at t=999), guidance 1.0 / image guidance 1.0",
                          why="the metric (PSNR to the known target) rewards the conditional mean, which the 1-step "
                          "estimate is; CFG works too (trained with 5% instruction and 5% image dropout)",
                          field="config: call_kwargs; train config: timesteps, sample_steps"),
        "training": Choice(value="VAE 600 steps (batch 16); UNet + text encoder 1,600 steps (batch 32) on the 1-step "
                           "sampler's timestep only; the decoder alone 600 steps on the frozen encoder's latents; then "
                           "UNet + text encoder + decoder 800 steps end to end on the 1-step residual output in pixels "
                           "(MSE to the target, lr 1e-3); AdamW lr 2e-3, cosine",
                           why="fits the CPU budget of the proving ground; the last stage trains what PSNR judges",
                           field="train config: vae_steps, steps, decoder_steps, pixel_steps, pixel_lr, batch, lr, "
                           "cond_dropout, timesteps, sample_steps"),
    }
    sr_choices = {
        "conditioning": Choice(value="bicubic x4 upsample concatenated to the noisy residual",
                               why="SR3-style conditioning with the smallest change to a stock UNet2DModel"),
        "target": Choice(value="residual over bicubic x residual_scale", why="the model spends its capacity on the "
                         "missing detail", field="MiniSRPipeline config: residual_scale"),
        "sampler": Choice(value="DDIM, trailing timesteps, eta 0; 1 step by default (trained on the 4-step "
                          "timesteps 999/749/499/249)", why="one step gives the conditional mean, which PSNR rewards "
                          "(+0.9 dB over bicubic on the held-out photos); 2-4 steps add detail at a PSNR cost",
                          field="config: call_kwargs; train config: timesteps, sample_steps"),
        "patch": Choice(value=SR_PATCH, why="32x32 HR / 8x8 LR training patches keep CPU training to minutes"),
    }
    edit_comps = {tiny: _edit_components(tiny) for tiny in (False, True)}
    sr_comps = [ComponentSpec(name="unet", class_name="UNet2DModel",
                              inputs={"sample": [1, 6, SR_PATCH, SR_PATCH], "timestep": [1]})]
    common = dict(family="mini", license="apache-2.0", tags=["proving-ground", "miniature", "photos", "teacher", "demo-default"])
    edit_summary = "Miniature InstructPix2Pix-style editor (32x32 photo crops; grayscale, invert, flip, blur, brighten, inpaint, x4 SR)"
    sr_summary = "Miniature x4 super-resolution diffusion model (UNet on the residual over bicubic, DDIM, 1 step by default)"
    return [
        ModelSpec(id="mini-edit", task="image-editing", resolution=EDIT_SIZE, summary=f"{edit_summary}. {_MINI_NOTE}",
                  components=edit_comps[False], choices=edit_choices, shipped_weights=f"{PACKAGE}:weights/mini-edit",
                  config={**edit_config(), "example_prompt": "make it black and white"}, **common),
        ModelSpec(id="mini-edit-tiny", task="image-editing", resolution=EDIT_SIZE, summary=f"mini-edit tiny. {_TINY_NOTE}",
                  components=edit_comps[True], config=edit_config(tiny=True), **{**common, "tags": ["proving-ground", "tiny", "test"]}),
        ModelSpec(id="mini-sr", task="super-resolution", resolution=SR_PATCH, summary=f"{sr_summary}. {_MINI_NOTE}",
                  components=sr_comps, choices=sr_choices, shipped_weights=f"{PACKAGE}:weights/mini-sr",
                  config=sr_config(), **common),
        ModelSpec(id="mini-sr-tiny", task="super-resolution", resolution=SR_PATCH, summary=f"mini-sr tiny. {_TINY_NOTE}",
                  components=sr_comps, config=sr_config(tiny=True), **{**common, "tags": ["proving-ground", "tiny", "test"]}),
    ]


IDS = ("mini-edit", "mini-edit-tiny", "mini-sr", "mini-sr-tiny")


def make_edit_tokenizer() -> Any:
    from .tokenizers import make_digits_clip_tokenizer

    return make_digits_clip_tokenizer(_edit_vocabulary(), EDIT_MAX_LENGTH)


def build(spec: ModelSpec) -> Any:
    """The pipeline of a photo teacher at its size, random weights, float32 on CPU."""
    from zoo.building import build_component

    cfg = spec.config
    comps = {}
    for name, c in cfg["components"].items():
        comps[name] = make_edit_tokenizer() if c.get("edits_vocabulary") else build_component(c)
    if cfg["pipeline_class"] == "MiniSRPipeline":
        from .sr_pipeline import MiniSRPipeline

        return MiniSRPipeline(**comps)
    if cfg["pipeline_class"] == "MiniEditPipeline":
        from .edit_pipeline import MiniEditPipeline

        return MiniEditPipeline(**comps, **cfg.get("pipeline_kwargs", {}))
    from zoo.building import build_pipeline

    return build_pipeline(cfg["pipeline_class"], comps, **cfg.get("pipeline_kwargs", {}))


def train(spec: ModelSpec, config: dict[str, Any]) -> Any:
    """`zoo train mini-edit|mini-sr[-tiny]`: the recipe in train_photos; returns the output folder."""
    from .train_photos import train_photo_teacher

    return train_photo_teacher(spec, config)
