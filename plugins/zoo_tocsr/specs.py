"""ModelSpecs of the TOC-SR family (plain data: no torch)."""
from __future__ import annotations

from zoo import Choice, ComponentSpec, ModelSpec, PaperRef

from .configs import MINI_TIMESTEP, MINI_UNET, MINI_VAE, SCHEDULER, TEACHER_UNET, TINY_UNET, VAE_F8C16, VAE_TINY
from .variants import TOCSR_X4, TOCSR_X4_MINI, expand

PAPER = PaperRef(title="TOC-SR: Task-Optimal Compact Diffusion for Image Super-Resolution", arxiv="2605.02767",
                 year=2026, authors="Samsung Research India")
SD15_REPO = "stable-diffusion-v1-5/stable-diffusion-v1-5"

CHOICES = {
    "teacher": Choice(value="SD1.5 UNet config with in_channels = out_channels = 16",
                      why="toc-sr.md: the 'adapted SD1.5'; only conv_in / conv_out change (+0.07M params)",
                      field="config: components.unet"),
    "vae": Choice(value="f8c16 AutoencoderKL (SD's VAE layout, latent_channels 16, SD3's scaling/shift)",
                  why="the paper names a 16-channel VAE without its design; SD3 / FLUX use this layout",
                  field="config: components.vae"),
    "surrogate_library": Choice(
        value={"resnet": ["R", "R2", "R4", "R8"], "attention": ["A", "A2", "A4", "A8", "-"]},
        why="R = the teacher's ResNet, Rk = 1x1-3x3-1x1 bottleneck at out/k channels; A = the teacher's transformer, "
            "Ak = the same transformer at 1/k inner width, '-' = dropped. Bottlenecks and narrow transformers cut "
            "parameters where MACs are cheap (1280 channels at 16x16 / 8x8), so 6.6x params and 2.8x MACs lie inside "
            "the library (NanoSD's per-stage space cannot reach both)",
        field="zoo_tocsr.library"),
    "one_step": Choice(value="LR -> bicubic x4 -> encode (posterior mode) -> UNet at t=999 -> x0 from eps -> decode",
                       why="OSEDiff-style one-step generator: the LR latent stands in for the noisy latent at the "
                           "fixed timestep; the paper does not give its timestep",
                       field="pipeline config: timestep"),
    "conditioning": Choice(value="no text: cross-attention context is 77 zero vectors",
                           why="a prompt-free SR model; the transformers keep SD1.5's layout so teacher weights load",
                           field="pipeline config: context_tokens"),
    "training_data": Choice(value="patches of the proving ground's training photos (HR) and their f8c16 latents; "
                            "LR by the chosen degradation", why="the paper's data (DIV2K-like) is not available here; "
                            "held-out photos never enter training", field="train config: data"),
    "one_step_losses": Choice(value={"regression": "MSE to HR, weight 1", "distribution_matching": "score "
                                     "distillation vs the frozen teacher, weight 0.1, t in [20, 980]", "lpips": "off"},
                              why="OSEDiff's VSD with the injected noise as the fake score (no LoRA score net); LPIPS "
                                  "needs torchvision and downloaded weights, neither available here",
                              field="train config: onestep"),
    "tiling": Choice(value="context-preserving tiles of 64 LR pixels with 16 LR pixels of neighbour context, "
                           "0% overlap; tile=None picks the tile from a memory budget",
                     why="mobilepicasso.md: real context instead of blending; 16 LR px = 8 latent px on each side. "
                         "The per-LR-pixel cost behind tile=None (pipeline config mb_per_lr_pixel, 0.5 MB) is an "
                         "estimate for the full-size model; benchmarks/tocsr_tiling.py measures it for a model",
                     field="call: tile, context, memory_budget_mb; pipeline config: mb_per_lr_pixel"),
}

X4_CHOICE = Choice(value=dict(TOCSR_X4), why="see zoo_tocsr.variants: the library assignment nearest 6.6x params and "
                   "2.8x MACs that keeps the most of the teacher; full-width blocks at 64x64, bottlenecks at 1280 "
                   "channels", field="config: components.unet.config.surrogates")


def _components(unet: dict, vae_latent: int, f: int = 8) -> list[ComponentSpec]:
    s, ctx = unet["sample_size"], unet["cross_attention_dim"]
    return [
        ComponentSpec(name="unet", class_name="TOCSRUNet", inputs={
            "sample": [1, 16, s, s], "timestep": [1], "encoder_hidden_states": [1, 77, ctx]}),
        ComponentSpec(name="vae_decoder", class_name="AutoencoderKL", inputs={"latent_sample": [1, vae_latent, s, s]}),
        ComponentSpec(name="vae_encoder", class_name="AutoencoderKL", inputs={"sample": [1, 3, s * f, s * f]}),
    ]


def pipeline_config(unet: dict, vae: dict, surrogates: dict) -> dict:
    return {
        "pipeline_class": "TOCSRPipeline",
        "components": {
            "unet": {"class": "TOCSRUNet", "module": "zoo_tocsr.unet", "config": {**unet, "surrogates": surrogates}},
            "vae": {"class": "AutoencoderKL", "config": vae},
            "scheduler": {"class": "DDPMScheduler", "config": SCHEDULER},
        },
    }


def all_specs() -> list[ModelSpec]:
    common = dict(family="tocsr", task="super-resolution", base_model=SD15_REPO, license="creativeml-openrail-m",
                  paper=PAPER, export_targets=["onnx", "coreml", "qnn"], pipeline_class="TOCSRPipeline")
    tags = ["tocsr", "super-resolution", "one-step", "on-device"]
    return [
        ModelSpec(id="tocsr-teacher", summary="TOC-SR's expanded teacher: SD1.5's UNet with a 16-channel latent "
                  "(859.59M params) and an f8c16 VAE; adapted from SD1.5 by `zoo train tocsr-teacher`.",
                  components=_components(TEACHER_UNET, 16), choices=dict(CHOICES), resolution=512,
                  reported={"unet_params_m": 859.5}, tags=tags + ["teacher"],
                  config=pipeline_config(TEACHER_UNET, VAE_F8C16, {}), **common),
        ModelSpec(id="tocsr-x4", summary="TOC-SR x4: one-step x4 super-resolution with a ~130M-param 16-channel UNet "
                  "(6.6x fewer params, 2.8x fewer GMACs than the expanded SD1.5) from TOC-SR's surrogate library.",
                  components=_components(TEACHER_UNET, 16), choices={**CHOICES, "blocks": X4_CHOICE}, resolution=512,
                  reported={"unet_params_m": 130.0}, tags=tags,
                  config=pipeline_config(TEACHER_UNET, VAE_F8C16, expand(TOCSR_X4)), **common),
        ModelSpec(id="tocsr-teacher-tiny", summary="TOC-SR teacher tiny: the expanded teacher's classes at toy widths, "
                  "random weights by design: the teacher of the recipe's tests.", components=_components(TINY_UNET, 16),
                  choices=dict(CHOICES), resolution=64, tags=tags + ["teacher", "tiny", "test"],
                  config=pipeline_config(TINY_UNET, VAE_TINY, {}), **common),
        ModelSpec(id="tocsr-x4-tiny", summary="TOC-SR x4 tiny: the tocsr-x4 classes and surrogate blocks at toy widths, "
                  "random weights by design: for tests.", components=_components(TINY_UNET, 16),
                  choices={**CHOICES, "blocks": X4_CHOICE}, resolution=64, tags=tags + ["tiny", "test"],
                  config=pipeline_config(TINY_UNET, VAE_TINY, expand(TOCSR_X4)), **common),
        ModelSpec(id="tocsr-x4-mini", summary="TOC-SR x4 in miniature: TOC-SR's whole recipe (expand to a 16-channel "
                  "latent, compact by FwGD surrogates + epsilon-constrained search, one-step distil) run from the proving "
                  "ground's trained mini-sr on its photos; weights ship with the package (3.4 MB); "
                  "`zoo train tocsr-x4-mini` retrains it from scratch in one command.",
                  components=_components(MINI_UNET, 16, f=2),
                  choices={**CHOICES, "blocks": Choice(
                      value=dict(TOCSR_X4_MINI), why="picked by the miniature's own epsilon-constrained search (the "
                      "sweep's first epsilon), not by hand: see zoo_tocsr.variants", field="config: "
                      "components.unet.config.surrogates; train config: search, student"), "mini": Choice(
                      value={"vae": "f2c16 AutoencoderKL, widths 32, no attention", "timestep": MINI_TIMESTEP,
                             "expand": "the 16-channel latent: the f2c16 VAE trained on HR patches, then the expanded "
                                       "UNet (tocsr-x4-tiny's layout with the teacher's own block in every slot, "
                                       "3.23M params) trained in it as a one-step generator from mini-sr",
                             "compact": "FwGD: every R2/R4/R8/A2/A4/A8 surrogate trained against its slot of the "
                                        "expanded UNet at the one-step operating point (LR latents at t=49); search: "
                                        "minimise params subject to the MSE of the output image to the expanded "
                                        "UNet's <= epsilon, epsilons 0.25/0.5/1.0 of the all-cheapest student's error",
                             "distil": "the searched student (kept blocks from the expanded UNet, surrogates from "
                                       "FwGD) and the VAE trained end to end as the one-step generator",
                             "skip": "output = bicubic + D(x0) - D(z_lr): the decoder gives a latent residual",
                             "losses": "MSE to HR (weight 1) + score distillation vs mini-sr (0.01); regression to "
                                       "mini-sr's samples off (below bicubic on held-out patches)"},
                      why="sized to retrain from scratch in minutes on 2 CPU cores from 32x32 patches. mini-sr is a "
                          "pixel-space UNet2DModel (3 channels, no cross-attention), so its blocks cannot move into "
                          "the 16-channel layout by new conv_in/conv_out as SD1.5's do: at mini scale 'expand' builds "
                          "the full-width 16-channel model and transfers mini-sr's task to it by distillation. t=49 "
                          "keeps the one-step map near identity at the start (conv_out zero-initialised); a VAE "
                          "trained for minutes is far from lossless, so the residual decode cancels its error",
                      field="zoo_tocsr.mini (MiniConfig); zoo_tocsr.configs; pipeline config: skip")},
                  resolution=64, tags=tags + ["proving-ground", "miniature"],
                  shipped_weights="zoo_tocsr:weights/tocsr-x4-mini",
                  config={**pipeline_config(MINI_UNET, MINI_VAE, expand(TOCSR_X4_MINI)),
                          "pipeline_kwargs": {"timestep": MINI_TIMESTEP, "context_tokens": 1, "mb_per_lr_pixel": 0.01,
                                              "skip": True}},
                  # trained from the proving ground's mini-sr, not from SD1.5's weights
                  **{**common, "license": "apache-2.0", "base_model": None}),
    ]
