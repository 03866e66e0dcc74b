"""`zoo train tocsr-*` options (pydantic only: the CLI validates them before importing torch)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

from zoo.distill import BlockDistillConfig, CaptureConfig, SearchConfig, TrainConfig, validate

STAGES = ("adapt", "block", "search", "onestep")


class DataConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    patch: int = Field(64, ge=16, description="HR patch side in pixels (multiple of 32: LR side even, latent whole)")
    count: int = Field(256, ge=2, description="HR patches cut from the proving ground's training photos")
    degradation: Literal["bicubic", "realworld"] = Field(
        "bicubic", description="[choice] bicubic x4 (the benchmark's inputs) or the blur/noise/JPEG chain")
    eval_batches: int = Field(2, ge=1, description="held-out batches of every teacher-aligned number")


class AdaptConfig(TrainConfig):
    init_from: Optional[str] = Field(
        "sd15", description="zoo id whose UNet gives every weight but conv_in/conv_out (None: keep the teacher's)")
    train: Literal["io", "all"] = Field(
        "io", description="[choice] 'io': only the new conv_in/conv_out learn (the 16-channel interface); 'all': the "
        "whole UNet")


class TOCSRSearchConfig(SearchConfig):
    mode: Literal["pareto", "constrained"] = "constrained"
    cost: str = Field("params", description="params or macs (analytic, from the per-slot table)")
    fidelity: str = "noise_mse"
    epsilon: Optional[float] = Field(None, description="set per run by the sweep (epsilons)")
    epsilons: list[float] = Field(
        default_factory=lambda: [0.5, 1.0, 2.0], description="the sweep: fidelity bounds as multiples of the "
        "all-cheapest student's error minus the teacher's (0 = teacher, 1 = cheapest)")
    options: dict[str, list[str]] = Field(
        default_factory=lambda: {"resnet": ["R", "R2", "R4", "R8"], "attention": ["A", "A2", "A4", "A8", "-"]})

    @model_validator(mode="after")
    def _eps(self) -> "TOCSRSearchConfig":  # replaces SearchConfig's check: epsilon comes from the sweep
        if not self.epsilons or any(e < 0 for e in self.epsilons):
            raise ValueError("epsilons must be a non-empty list of non-negative numbers")
        return self


class OneStepConfig(TrainConfig):
    regression_weight: float = Field(1.0, ge=0)
    dm_weight: float = Field(0.1, ge=0, description="[choice] weight of the distribution-matching term")
    dm_t_min: int = Field(20, ge=0)
    dm_t_max: int = Field(980, ge=1)
    train_vae: bool = Field(False, description="also fine-tune the VAE (the teacher's f8c16 by default: frozen)")


class TOCSRTrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    teacher: str = Field("tocsr-teacher", description="the expanded teacher (a TOCSRPipeline zoo id)")
    teacher_pretrained: bool = Field(True, description="False: random-init teacher and init_from (dry runs, tests)")
    student: Literal["spec", "search"] = Field(
        "spec", description="'spec': the variant's own block choices; 'search': the cheapest feasible architecture "
        "at the sweep's first epsilon")
    out_dir: Path = Path("runs/tocsr")
    stage: Literal["adapt", "block", "search", "onestep", "all"] = "all"
    resume: bool = False
    device: Optional[str] = None
    seed: int = 0
    data: DataConfig = Field(default_factory=DataConfig)
    adapt: AdaptConfig = Field(default_factory=lambda: AdaptConfig(steps=1000, lr=1e-4, batch_size=4))
    capture: CaptureConfig = Field(default_factory=lambda: CaptureConfig(n_batches=32, batch_size=4))
    blocks: BlockDistillConfig = Field(default_factory=lambda: BlockDistillConfig(steps=1000, lr=1e-4))
    search: TOCSRSearchConfig = Field(default_factory=lambda: TOCSRSearchConfig(n_trials=40))
    onestep: OneStepConfig = Field(default_factory=lambda: OneStepConfig(steps=2000, lr=5e-5, batch_size=4))


def parse_config(config: dict[str, Any]) -> TOCSRTrainConfig:
    return validate(TOCSRTrainConfig, dict(config or {}), "TOC-SR training config")
