"""FraQAT options (the technique's config dict, validated). Defaults are the paper's values
or the zoo's [choice]s declared in specs.FRAQAT_CHOICES."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from zoo import ZooError

from .specs import FRAQAT_CHOICES, PAPER_EPOCHS, PAPER_SCHEDULE

INTEGER_SCHEDULE = [8.0, 7.0, 6.0, 5.0, 4.0]  # the paper's ablation


class FraQATConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schedule: list[float] = Field(default_factory=lambda: list(PAPER_SCHEDULE), description="[paper] weight bits per stage")
    epochs: list[int] = Field(default_factory=lambda: list(PAPER_EPOCHS), description="[paper] epochs per stage")
    act_bits: Optional[float] = Field(8.0, description="[paper] activations stay 8-bit; None leaves them float")
    per_channel: bool = Field(FRAQAT_CHOICES["per_channel"].value, description="[choice] per-output-channel weight scales")
    lr: float = Field(1e-6, gt=0, description="[paper] Adam lr (1e-6 SD3.5-M / PixArt-Sigma, 1e-7 Sana)")
    batch_size: int = Field(128, ge=1, description="[paper] 128-256 (global, split over processes)")
    steps_per_epoch: Optional[int] = Field(None, ge=1, description="[choice] None: ceil(KD samples / batch)")
    kd_prompts: int = Field(16, ge=1, description="prompts the full-precision pipeline generates KD latents from")
    kd_steps: int = Field(20, ge=1, description="denoising steps of those generations")
    prompts: Optional[list[str]] = Field(None, description="KD / calibration prompts (default: the export calibration captions)")
    calibration_samples: int = Field(100, ge=1, description="[paper] samples for the static activation ranges")
    n_sigma: float = Field(3.0, gt=0, description="[paper] static range = mean +- n_sigma sigma")
    components: list[str] = Field(default_factory=lambda: list(FRAQAT_CHOICES["quantised_components"].value))
    seed: int = 0
    # What applying the technique does
    train: bool = Field(False, description="run the schedule now (else only fake-quantise at `bits`)")
    bits: Optional[float] = Field(None, description="weight bits when not training (default: the schedule's last)")
    weights: Optional[Path] = Field(None, description="packed FraQAT weights (.safetensors) to load into the model")
    out_dir: Optional[Path] = Field(None, description="write the packed weights here after training")
    progress: bool = True

    @model_validator(mode="after")
    def _check(self) -> "FraQATConfig":
        if len(self.schedule) != len(self.epochs) or not self.schedule:
            raise ValueError(f"schedule ({len(self.schedule)} stages) and epochs ({len(self.epochs)}) must pair up")
        if any(b < 2 for b in self.schedule) or any(e < 1 for e in self.epochs):
            raise ValueError("every stage needs bits >= 2 and epochs >= 1")
        return self

    @property
    def final_bits(self) -> float:
        return self.bits if self.bits is not None else self.schedule[-1]


def parse_options(cls: type, config: dict, technique: str) -> Any:
    """``cls(**config)``, a one-line ZooError naming the bad option and listing the valid ones."""
    try:
        return cls(**config)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = " " + ".".join(str(p) for p in err["loc"]) if err["loc"] else "s"
        msg = err["msg"].removeprefix("Value error, ")
        raise ZooError(f"{technique} option{where}: {msg} (options: {', '.join(cls.model_fields)})") from None


def parse(config: dict) -> FraQATConfig:
    return parse_options(FraQATConfig, config, "fraqat")
