"""ModelSpecs of MobilePicasso (plain data: no torch).

A MobilePicasso pipeline is composed from two registered models, named in ``config``: an editor
(InstructPix2Pix layout) and a one-step x4 upscaler (TOC-SR layout), plus a LatentProjection.
"""
from __future__ import annotations

from typing import Any

from zoo import Choice, ComponentSpec, ModelSpec, PaperRef

PAPER = PaperRef(title="MobilePicasso: Enabling Mobile-Based High-Resolution Image Editing", arxiv="2510.06295",
                 year=2025, authors="Samsung AI Center Cambridge")
PROJECTION = {"hidden_channels": 64, "num_layers": 2}
PROJECTION_TINY = {"hidden_channels": 16, "num_layers": 2}
PROJECTION_MINI = {"hidden_channels": 32, "num_layers": 2}
PACKAGE = "zoo_mobilepicasso"
# mobilepicasso-mini ships only what it trains (the projection); the frozen editor and upscaler load from
# the shipped weights of mini-edit and tocsr-x4-mini (zoo.loading: config["weights_from"]).
MINI_WEIGHTS_FROM = {
    **{c: f"mini-edit/{c}" for c in ("unet", "vae", "text_encoder", "tokenizer", "scheduler")},
    **{f"sr_{c}": f"tocsr-x4-mini/{c}" for c in ("unet", "vae", "scheduler")},
}

CHOICES = {
    "composition": Choice(value="editor: InstructPix2Pix layout (SD1.5, 8-channel UNet); upscaler: tocsr-x4 "
                                "(one-step x4, f8c16 VAE)",
                          why="the paper edits with InstructPix2Pix on SD1.5 and upscales with its own unpublished "
                              "one-step SR model; TOC-SR is the zoo's one-step x4 upscaler",
                          field="config: editor, upscaler"),
    "projection": Choice(value="bicubic resize of the edited latent onto the upscaler's latent grid, then a 1x1 "
                               "linear skip + two 3x3 convs (SiLU), conv_out zero-initialised",
                         why="the paper gives no design of its 'light' projection; a local conv net keeps the "
                             "receptive field bounded (3 latent px), so context tiling is exact for it",
                         field="config: projection"),
    "projection_target": Choice(value="upscaler encoder's latent of the bicubic x4 upsample of the decoded edit "
                                      "(MSE)", why="what the decode / re-encode round trip the projection replaces "
                                      "would give the upscaler", field="train config: stage projection"),
    "tiling": Choice(value="context-preserving tiles over the upscaler's latent grid (zoo.tiling.context_windows), "
                           "8 latent px of neighbour context, 0% overlap; tile side from memory_budget_mb / "
                           "mb_per_latent_pixel; each tile resizes its own window of the edited latent and writes "
                           "its core into the output preallocated in its final form (uint8 for PIL)",
                     why="the paper profiles latency/memory per tile size on device; the zoo takes the tile from a "
                         "budget and a measured per-pixel cost. Flat memory means the working memory beside the "
                         "output image, which any method must hold (4096^2 RGB: 48 MB of pixels, 64 MB as a PIL "
                         "image): benchmarks/mobilepicasso_memory.py prints the peak, the output alone and the "
                         "working memory per output size",
                     field="pipeline config: memory_budget_mb, mb_per_latent_pixel, tile_context"),
    "edit_size": Choice(value="long side 512 (the editor's standard resolution), aspect kept",
                        why="mobilepicasso.md: edit at standard resolution, then project and upscale",
                        field="pipeline config: edit_size"),
    "hallucination_loss": Choice(value="off by default; on with an artefact-localisation network given in the "
                                       "train config (artefact_net: 'module:Class' or 'module:function')",
                                 why="the paper's network M is not published; without one the option is refused",
                                 field="train config: hallucination_weight, artefact_net, filter_fraction"),
}


def _config(editor: str, upscaler: str, projection: dict, **pipeline_kwargs: Any) -> dict:
    return {"pipeline_class": "MobilePicassoPipeline", "editor": editor, "upscaler": upscaler,
            "projection": projection, "pipeline_kwargs": pipeline_kwargs}


def _components(edit_latent: int, text_dim: int, sr_latent: int, ctx: int, ctx_tokens: int = 77,
                text_tokens: int = 77) -> list[ComponentSpec]:
    return [
        ComponentSpec(name="unet", class_name="UNet2DConditionModel", inputs={
            "sample": [1, 8, edit_latent, edit_latent], "timestep": [1],
            "encoder_hidden_states": [1, text_tokens, text_dim]}),
        ComponentSpec(name="projection", class_name="LatentProjection", inputs={"z": [1, 4, sr_latent, sr_latent]}),
        ComponentSpec(name="sr_unet", class_name="TOCSRUNet", inputs={
            "sample": [1, 16, sr_latent, sr_latent], "timestep": [1], "encoder_hidden_states": [1, ctx_tokens, ctx]}),
    ]


def all_specs() -> list[ModelSpec]:
    common = dict(family="mobilepicasso", task="image-editing", paper=PAPER, license="creativeml-openrail-m",
                  base_model="timbrooks/instruct-pix2pix", pipeline_class="MobilePicassoPipeline",
                  export_targets=["onnx"])
    tags = ["mobilepicasso", "image-editing", "high-resolution", "tiling", "on-device"]
    return [
        ModelSpec(id="mobilepicasso", summary="MobilePicasso: instruction editing at 512^2, latent projection to a "
                  "one-step x4 upscaler run tile by tile with context-preserving tiling at a memory budget "
                  "(4K output at flat memory); random/unpublished weights.",
                  components=_components(64, 768, 64, 768), choices=dict(CHOICES), resolution=512, tags=tags,
                  reported={}, config=_config("instruct-pix2pix", "tocsr-x4", PROJECTION, edit_size=512,
                                              memory_budget_mb=1024.0, mb_per_latent_pixel=0.5, tile_context=8),
                  **common),
        ModelSpec(id="mobilepicasso-tiny", summary="MobilePicasso tiny: instruct-pix2pix-tiny + tocsr-x4-tiny + a "
                  "toy projection, random weights by design: the same code paths (tiled) for tests.",
                  components=_components(8, 32, 32, 32), choices=dict(CHOICES), resolution=64,
                  tags=tags + ["tiny", "test"],
                  config=_config("instruct-pix2pix-tiny", "tocsr-x4-tiny", PROJECTION_TINY, edit_size=64,
                                 memory_budget_mb=64.0, mb_per_latent_pixel=0.05, tile_context=8),
                  **common),
        ModelSpec(id="mobilepicasso-mini", summary="MobilePicasso in miniature on the proving ground: the trained "
                  "mini-edit edits at 32x32, a trained latent projection maps its latent onto the trained "
                  "tocsr-x4-mini's latent grid, which upscales x4 tile by tile (128x128 out). Ships only the "
                  "projection; the editor and upscaler are mini-edit's and tocsr-x4-mini's shipped weights. "
                  "`zoo train mobilepicasso-mini` retrains the projection.",
                  components=_components(16, 64, 64, 32, ctx_tokens=1, text_tokens=8),
                  choices={**CHOICES, "mini": Choice(
                      value={"editor": "mini-edit", "upscaler": "tocsr-x4-mini", "projection": PROJECTION_MINI,
                             "edit_size": 32, "skip": "tocsr-x4-mini decodes a residual (its skip=True): it is "
                             "added to the bicubic x4 of the edit decoded at 32x32, so one small decode remains"},
                      why="the proving ground's trained editor and one-step x4 upscaler: the pipeline's claims "
                          "are checked on trained models in CPU minutes (benchmarks/mobilepicasso_miniature.py)",
                      field="config: editor, upscaler, projection")},
                  resolution=32, tags=tags + ["proving-ground", "miniature"],
                  shipped_weights=f"{PACKAGE}:weights/mobilepicasso-mini",
                  config={**_config("mini-edit", "tocsr-x4-mini", PROJECTION_MINI, edit_size=32,
                                    memory_budget_mb=8.0, mb_per_latent_pixel=0.005, tile_context=8),
                          "weights_from": MINI_WEIGHTS_FROM,
                          # mini-edit's sampler (its card): 1 DDIM step, no guidance
                          "call_kwargs": {"num_inference_steps": 1, "guidance_scale": 1.0,
                                          "image_guidance_scale": 1.0},
                          "example_prompt": "make it black and white"},
                  **{**common, "license": "apache-2.0", "base_model": None}),
    ]
