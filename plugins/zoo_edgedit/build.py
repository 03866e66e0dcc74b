"""The build hook's work: a DiTPipeline with EdgeDiT's transformer and the teacher's VAE and
scheduler (built from the teacher spec's configs, so they load DiT-XL/2's sd-vae-ft-ema)."""
from __future__ import annotations

from typing import Any

from zoo import ModelSpec, ZooError, get_spec
from zoo.building import build_component, build_pipeline


def build_transformer(spec: ModelSpec) -> Any:
    from .model import EdgeDiTTransformer2DModel

    return EdgeDiTTransformer2DModel(**spec.config["transformer"])


def build_edgedit_pipeline(spec: ModelSpec) -> Any:
    comps = get_spec(spec.config["teacher"]).config.get("components") or {}
    if "vae" not in comps or "scheduler" not in comps:
        raise ZooError(f"{spec.id}: teacher {spec.config['teacher']!r} has no VAE/scheduler configs to build from")
    return build_pipeline("DiTPipeline", {
        "transformer": build_transformer(spec),
        "vae": build_component(comps["vae"]),
        "scheduler": build_component(comps["scheduler"]),
    })
