"""The build hook's work: a StableDiffusionPipeline with NanoSD's UNet and tiny VAE and the
teacher's text encoder, tokenizer and scheduler (built from the teacher spec's configs, so
the text side is SD1.5's exactly and loads SD1.5's weights)."""
from __future__ import annotations

from typing import Any

from zoo import ModelSpec, ZooError, get_spec
from zoo.building import build_component, build_pipeline


def teacher_components(spec: ModelSpec) -> dict[str, Any]:
    teacher = get_spec(spec.config["teacher"])
    comps = teacher.config.get("components")
    if not comps or "unet" not in comps:
        raise ZooError(f"{spec.id}: teacher {teacher.id!r} has no component configs to derive NanoSD from")
    return comps


def build_unet(spec: ModelSpec) -> Any:
    from .unet import NanoSDUNet, unet_config_from_teacher_config

    cfg = unet_config_from_teacher_config(teacher_components(spec)["unet"]["config"], spec.config["unet"]["stage_choices"])
    return NanoSDUNet(**{**cfg, **spec.config["unet"].get("overrides", {})})


def build_vae(spec: ModelSpec) -> Any:
    from .vae import NanoSDTinyVAE

    return NanoSDTinyVAE(**spec.config["vae"])


def build_nanosd_pipeline(spec: ModelSpec) -> Any:
    teacher = get_spec(spec.config["teacher"])
    comps = teacher_components(spec)
    parts = {
        "unet": build_unet(spec),
        "vae": build_vae(spec),
        "text_encoder": build_component(comps["text_encoder"]),
        "tokenizer": build_component(comps["tokenizer"]),
        "scheduler": build_component(comps["scheduler"]),
    }
    return build_pipeline("StableDiffusionPipeline", parts, **teacher.config.get("pipeline_kwargs", {}))
