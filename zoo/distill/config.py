"""Pydantic configs of the distillation engine, and loading them from YAML/JSON files.

Only pydantic and the standard library here: the CLI imports this to validate a config file
before any torch import.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import ZooError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrainConfig(_Strict):
    """One optimisation run (a surrogate block, a VAE part, an alignment): shared by the
    block-distillation, VAE and alignment stages so each resumes the same way."""

    steps: int = Field(200, ge=1, description="optimiser steps in the whole run")
    lr: float = Field(1e-4, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    betas: tuple[float, float] = (0.9, 0.999)
    lr_schedule: Literal["constant", "cosine"] = Field(
        "constant", description="[choice] the papers give no schedule; cosine decays to 10% of lr")
    warmup_steps: int = Field(0, ge=0)
    grad_clip: Optional[float] = Field(1.0, gt=0, description="max grad norm; None disables clipping")
    batch_size: int = Field(4, ge=1, description="samples per step (for block distillation: per captured batch)")
    checkpoint_every: int = Field(50, ge=1, description="save model + optimiser + step + RNG every N steps")
    seed: int = 0
    stop_after: Optional[int] = Field(
        None, ge=1, description="leave this session after this global step without a final save, as a "
        "preempted job would (the next run resumes from the last checkpoint)")
    log_every: int = Field(10, ge=1)


class BlockDistillConfig(TrainConfig):
    """Feature-wise generative distillation (FwGD) of surrogate blocks."""

    out_dir: Path = Path("distill-out/blocks")
    loss: Literal["mse"] = Field("mse", description="mean over output tensors of their MSE to the teacher's")
    ram_cache_mb: int = Field(2048, ge=0, description="keep captured stage data in RAM up to this size")
    only: Optional[list[str]] = Field(None, description="train only these candidate names (default: all)")


class CaptureConfig(_Strict):
    """Teacher stage inputs/outputs captured with forward hooks."""

    n_batches: int = Field(32, ge=1, description="teacher forward passes (each over `batch_size` samples)")
    batch_size: int = Field(4, ge=1)
    dtype: Optional[Literal["float32", "float16", "bfloat16"]] = Field(
        None, description="store floating tensors in this dtype (None: as captured)")
    seed: int = 0


class SearchConfig(_Strict):
    """Bayesian architecture search over one choice per stage."""

    n_trials: int = Field(40, ge=1)
    n_startup_trials: int = Field(10, ge=1, description="random (Sobol-free, seeded) trials before the GP")
    sampler: Literal["gp", "tpe"] = Field(
        "gp", description="[choice] 'gp': optuna GPSampler (GP surrogates, LogEHVI for two objectives, "
        "constrained LogEI/LogEHVI with constraints); 'tpe': optuna TPE (cheaper, many trials)")
    mode: Literal["pareto", "constrained"] = Field(
        "pareto", description="'pareto': minimise (fidelity, cost) together; 'constrained': minimise cost "
        "subject to fidelity <= epsilon (TOC-SR)")
    cost: str = Field("params", description="name of the cost metric (params, macs, latency_ms...)")
    fidelity: str = Field("fidelity", description="name of the fidelity (error) metric, lower is better")
    epsilon: Optional[float] = Field(None, description="fidelity bound of the constrained mode")
    seed: int = 0
    out_dir: Path = Path("distill-out/search")

    @model_validator(mode="after")
    def _eps(self) -> "SearchConfig":
        if self.mode == "constrained" and self.epsilon is None:
            raise ValueError("mode='constrained' needs epsilon (the largest fidelity error allowed)")
        return self


class AlignConfig(TrainConfig):
    """End-to-end alignment of an assembled student to its teacher's noise prediction."""

    out_dir: Path = Path("distill-out/align")
    num_train_timesteps: int = 1000
    beta_start: float = 0.00085
    beta_end: float = 0.012
    beta_schedule: str = Field("scaled_linear", description="[choice] SD1.5's DDPM forward process")
    train_vae: bool = Field(False, description="also fine-tune the student VAE encoder through z_s")


def load_config_file(path: Union[str, Path]) -> dict[str, Any]:
    """Read a YAML or JSON config file into a dict (ZooError on a missing or malformed file)."""
    p = Path(path)
    if not p.is_file():
        raise ZooError(f"config file {p} does not exist")
    text = p.read_text()
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # yaml.YAMLError / json.JSONDecodeError: say which file
        raise ZooError(f"cannot parse config file {p}: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ZooError(f"config file {p} must hold a mapping at top level, got {type(data).__name__}")
    return data


def validate(model: type[BaseModel], data: Any, where: str = "config") -> Any:
    """``model.model_validate(data)`` with a readable ZooError instead of a pydantic traceback."""
    try:
        return model.model_validate(data or {})
    except ValidationError as exc:
        problems = [f"{'.'.join(str(x) for x in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()]
        raise ZooError(f"invalid {where}: " + "; ".join(problems)) from None  # one line, as the CLI prints it
