"""ModelSpecs of the MTU family (plain data: no torch): upcycled UNets of sd15, nanosd-m and sd15-tiny
with random / unpublished MTU weights, and mtu-mini, trained on the proving ground from mini-edit
with its weights shipped. Every model is an MTUStableDiffusionPipeline: ``pipe(prompt, image=...,
task="edit")`` picks edit | sr | inpaint | t2i per call (``pipe.tasks``: the model's)."""
from __future__ import annotations

from importlib.resources import files

from zoo import Choice, ComponentSpec, ModelSpec
from zoo.building import sd_components

from .choices import CHOICES, PAPER, TASKS

PACKAGE = "zoo_mtu"
PIPELINE = "MTUStableDiffusionPipeline"
TINY_NOTE = "Random weights by design: runs the same code paths in well under a second (tests)."
SD15_REPO = "stable-diffusion-v1-5/stable-diffusion-v1-5"
MINI_TASKS = ["edit", "sr", "inpaint"]
# id -> (base model id, latent size, text width, summary); base specs are not read at registration
BASES = {
    "mtu-sd15": ("sd15", 64, 768, "MTU on SD1.5: every FFN -> 4 task-routed experts, task norms and conv_in; "
                         "edit / sr / inpaint / t2i on one UNet at single-task cost (weights unpublished)."),
    "mtu-nanosd-m": ("nanosd-m", 64, 768, "MTU on NanoSD M's UNet: edit / sr / inpaint / t2i on one on-device UNet "
                                 "(weights unpublished)."),
    "mtu-tiny": ("sd15-tiny", 8, 32, f"MTU on SD1.5 tiny. {TINY_NOTE}"),
}
# mtu-mini: the default `zoo train mtu-mini` recipe (the weights shipped were trained with it; see
# weights/mtu-mini/training.json for the run)
MINI_TRAIN = {"tasks": MINI_TASKS, "size": 32, "count": 512, "steps": 80, "batch_size": 8, "lr": 1e-3}


MINI_CHOICES = {**CHOICES, "mini_recipe": Choice(
    value=f"from mini-edit's trained weights: Adam lr {MINI_TRAIN['lr']}, {MINI_TRAIN['steps']} steps, each the sum of "
          f"3 task batches (tasks drawn uniformly) of {MINI_TRAIN['batch_size']} crops, {MINI_TRAIN['count']} training "
          "crops per task", why="a 20-minute budget on the shared 2-core CPU; the paper's SD1.5 rate is 1e-4 over "
          "far longer runs", field="config: train (zoo train mtu-mini --config overrides it)")}


def _mini_components() -> list[ComponentSpec]:
    """mini-edit's shapes (32 px crops, VAE f=2 -> 4x16x16 latent, 8-token instructions of width 64)."""
    return [
        ComponentSpec(name="text_encoder", class_name="CLIPTextModel", inputs={"input_ids": [1, 8]},
                      input_dtypes={"input_ids": "int64"}),
        ComponentSpec(name="unet", class_name="UNet2DConditionModel",
                      inputs={"sample": [1, 8, 16, 16], "timestep": [1], "encoder_hidden_states": [1, 8, 64]}),
        ComponentSpec(name="vae_decoder", class_name="AutoencoderKL", inputs={"latent_sample": [1, 4, 16, 16]}),
        ComponentSpec(name="vae_encoder", class_name="AutoencoderKL", inputs={"sample": [1, 3, 32, 32]}),
    ]


def _shipped(mid: str) -> str | None:
    """'zoo_mtu:weights/ID' once `zoo train ID --out plugins/zoo_mtu/weights/ID` has written them."""
    return f"{PACKAGE}:weights/{mid}" if files(PACKAGE).joinpath("weights", mid, "model_index.json").is_file() else None


def all_specs() -> list[ModelSpec]:
    out = []
    for mid, (base_id, latent, text, summary) in BASES.items():
        tasks = ["edit", "t2i", "sr", "inpaint"] if mid == "mtu-tiny" else list(TASKS)
        # the UNet's export shape is its first (current) task's: t2i takes the latent, the others latent + condition
        in_channels = 4 if tasks[0] == "t2i" else 8
        out.append(ModelSpec(
            id=mid, family="mtu", task="text-to-image", summary=summary, paper=PAPER, choices=CHOICES,
            base_model=SD15_REPO, license="creativeml-openrail-m", components=sd_components(
                {"sample_size": latent, "cross_attention_dim": text, "in_channels": in_channels}), resolution=latent * 8, export_targets=["onnx"],
            tags=["mtu", "multi-task", "stable-diffusion", *(["tiny", "test"] if mid.endswith("-tiny") else [])],
            # a model starts in its first task; mtu-tiny in edit, so that the conformance kit (which passes
            # image= to a pipeline that takes one) runs the conditioned path
            config={"base": base_id, "tasks": tasks,
                    "options": {}, "pipeline_class": PIPELINE},
        ))
    out.append(ModelSpec(
        id="mtu-mini", family="mtu", task="image-editing", paper=PAPER, choices=MINI_CHOICES, license="apache-2.0",
        summary="Miniature MTU on the proving ground: mini-edit's UNet upcycled (every FFN -> 4 task-routed experts, "
                "task norms, task conv_in from mini-edit's 8-channel one) and trained on edit + x4 SR + inpainting of "
                "32x32 photo crops at once (`zoo train mtu-mini`, CPU); pipe(prompt, image=..., task='edit'|'sr'|"
                "'inpaint'). Weights ship in the zoo_mtu package.",
        components=_mini_components(), resolution=32, export_targets=["onnx"], shipped_weights=_shipped("mtu-mini"),
        tags=["mtu", "multi-task", "proving-ground", "miniature", "photos"],
        config={"base": "mini-edit", "init": "pretrained", "tasks": MINI_TASKS, "options": {},
                "pipeline_class": PIPELINE, "train": MINI_TRAIN, "edit_size": 32,
                "call_kwargs": {"num_inference_steps": 10, "guidance_scale": 1.0},
                "example_prompt": "make it black and white"},
    ))
    return out
