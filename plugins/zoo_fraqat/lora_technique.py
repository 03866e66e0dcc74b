"""Applying ``lora-inputs`` (``zoo.load(ID, techniques={"lora-inputs": {...}})``): the
denoiser's linear layers take LoRA factors as inputs; the returned pipeline carries a
``loras`` bank that switches task by name without rebuilding::

    pipe = zoo.load("mini-edit", techniques={"lora-inputs": {"loras": {"blur": "blur.safetensors"}}})
    pipe.loras.use("blur")      # binds buffers; the base weights and graph stay as they are
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field

from zoo import ZooError

from .specs import FRAQAT_CHOICES, QUAD_CHOICES


class LoRAInputsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rank: int = Field(QUAD_CHOICES["rank"].value, ge=1, description="[choice] fixed rank; smaller LoRAs zero-padded")
    targets: Optional[list[str]] = Field(None, description="regexes over linear layer names (None: every linear layer)")
    components: list[str] = Field(default_factory=lambda: list(FRAQAT_CHOICES["quantised_components"].value))
    loras: dict[str, str] = Field(default_factory=dict, description="name -> LoRA .safetensors (peft-style keys)")
    active: Optional[str] = Field(None, description="LoRA bound after loading (default: the first one)")


def parse(config: dict) -> LoRAInputsConfig:
    from .config import parse_options

    return parse_options(LoRAInputsConfig, config, "lora-inputs")


def apply_lora_inputs(spec: Any, model: Any, config: dict) -> Any:
    from .lora import LoRABank, add_lora_inputs
    from .technique import target

    cfg = parse(config)
    for path in cfg.loras.values():
        if not Path(path).expanduser().is_file():
            from zoo import WeightsNotFoundError

            raise WeightsNotFoundError(f"no LoRA file at {path}")
    module, _ = target(model, cfg)
    add_lora_inputs(module, cfg.rank, cfg.targets)
    bank = LoRABank(module)
    for name, path in cfg.loras.items():
        bank.add(name, path)
    if cfg.active is not None and cfg.active not in bank.loras:
        raise ZooError(f"active LoRA {cfg.active!r} is not among the loaded ones {bank.names}")
    bank.use(cfg.active or (bank.names[0] if bank.names else None))
    object.__setattr__(model, "loras", bank)
    return model
