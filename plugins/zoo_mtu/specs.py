"""ModelSpecs of the MTU family (plain data: no torch): upcycled UNets of sd15, nanosd-m and
sd15-tiny with random / unpublished MTU weights. ``zoo_mtu.set_task(pipe, task, image=...)`` picks
edit | sr | inpaint | t2i; the spec's ``config['task']`` is the task a fresh build starts in."""
from __future__ import annotations

from zoo import ModelSpec
from zoo.building import sd_components

from .choices import CHOICES, PAPER, TASKS

TINY_NOTE = "Random weights by design: runs the same code paths in well under a second (tests)."
SD15_REPO = "stable-diffusion-v1-5/stable-diffusion-v1-5"
# id -> (base model id, latent size, text width, summary); base specs are not read at registration
BASES = {
    "mtu-sd15": ("sd15", 64, 768, "MTU on SD1.5: every FFN -> 4 task-routed experts, task norms and conv_in; "
                         "edit / sr / inpaint / t2i on one UNet at single-task cost (weights unpublished)."),
    "mtu-nanosd-m": ("nanosd-m", 64, 768, "MTU on NanoSD M's UNet: edit / sr / inpaint / t2i on one on-device UNet "
                                 "(weights unpublished)."),
    "mtu-tiny": ("sd15-tiny", 8, 32, f"MTU on SD1.5 tiny. {TINY_NOTE}"),
}


def all_specs() -> list[ModelSpec]:
    out = []
    for mid, (base_id, latent, text, summary) in BASES.items():
        out.append(ModelSpec(
            id=mid, family="mtu", task="text-to-image", summary=summary, paper=PAPER, choices=CHOICES,
            base_model=SD15_REPO, license="creativeml-openrail-m", components=sd_components(
                {"sample_size": latent, "cross_attention_dim": text}), resolution=latent * 8, export_targets=["onnx"],
            tags=["mtu", "multi-task", "stable-diffusion", *(["tiny", "test"] if mid.endswith("-tiny") else [])],
            config={"base": base_id, "task": "t2i", "tasks": list(TASKS), "options": {},
                    "pipeline_class": "StableDiffusionPipeline"},
        ))
    return out
