"""Applying ``fraqat`` to a built model (``zoo.load(ID, techniques={"fraqat": {...}})``):
load packed weights, or train through the schedule, or fake-quantise at fixed bits."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import FraQATConfig, parse

PACKED_FILE = "fraqat.safetensors"


def target(model: Any, cfg: Any) -> tuple[Any, str]:
    """(denoiser module, component name); a component id's model is the denoiser itself."""
    import torch

    from .data import denoiser_name

    if isinstance(model, torch.nn.Module) and not hasattr(model, "components"):
        return model, ""
    name = denoiser_name(model, cfg.components)
    return getattr(model, name), name


def apply_fraqat(spec: Any, model: Any, config: dict) -> Any:
    cfg = parse(config)
    module, name = target(model, cfg)
    if cfg.weights is not None:
        from .packing import load_packed

        load_packed(module, cfg.weights)
        return model
    if cfg.train:
        run_training(spec, model, module, name, cfg)
        return model
    from .layers import quantize_linears

    quantize_linears(module, cfg.final_bits, cfg.act_bits, cfg.per_channel)
    return model


def run_training(spec: Any, model: Any, module: Any, name: str, cfg: FraQATConfig) -> Any:
    from zoo import ZooError
    from zoo.components import component_module
    from zoo.export.calibration import PROMPTS

    from .data import pipeline_kd_data
    from .packing import save_packed
    from .train import train_fraqat

    if not name:
        raise ZooError(f"{spec.id} is a single component: FraQAT training needs its pipeline to generate KD data")
    prompts = cfg.prompts or [PROMPTS[i % len(PROMPTS)] for i in range(cfg.kd_prompts)]
    data = pipeline_kd_data(model, spec, name, prompts[: cfg.kd_prompts], cfg.kd_steps, cfg.seed, cfg.progress)
    comp = spec.component(name)
    result = train_fraqat(module, lambda m: component_module(m, comp), data, cfg)
    from accelerate import PartialState

    if cfg.out_dir is not None and PartialState().is_main_process:  # one writer under accelerate launch
        save_packed(module, Path(cfg.out_dir) / PACKED_FILE,
                    extra={"model_id": spec.id, "component": name, "schedule": cfg.schedule, "epochs": cfg.epochs,
                           "stages": [s.__dict__ for s in result.stages]})
    return result


# `zoo train` options that are not FraQAT options
_CLI_KEYS = {"recipe", "stage", "data", "teacher", "resume", "device"}


def train_recipe(spec: Any, config: dict) -> Path:
    """``zoo train ID --recipe fraqat``: load the model (its weights unless --random-teacher),
    train through the schedule, write ``{out_dir}/fraqat.safetensors``."""
    import zoo

    cfg = {k: v for k, v in config.items() if k not in _CLI_KEYS and k != "teacher_pretrained"}
    cfg.update(train=True, out_dir=str(config["out_dir"]))
    parse(cfg)  # options checked before loading anything
    zoo.load(spec.id, pretrained=config.get("teacher_pretrained", True), techniques={"fraqat": cfg})
    return Path(config["out_dir"])
