"""Options of the ``edit`` / ``mm-edit`` techniques (validated; defaults are the spec's [choice]s)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from zoo import ZooError

from .specs import CHOICES, MM_CHOICES


class EDiTOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ratio: int = Field(CHOICES["ratio"].value, ge=1, description="[choice] ConvFusion channel reduction r")
    groups: int = Field(CHOICES["groups"].value, ge=1, description="[choice] ConvFusion GroupNorm groups")
    slope: float = Field(CHOICES["slope"].value, ge=0, description="[choice] ConvFusion LeakyReLU slope")
    eps: float = Field(CHOICES["eps"].value, gt=0, description="[choice] linear-attention denominator epsilon")
    convfusion: bool = Field(CHOICES["convfusion"].value, description="[choice] False: the no-ConvFusion ablation")
    weights: Optional[Path] = Field(None, description="distilled transformer weights (.safetensors) to load")

    def fields(self) -> dict:
        return self.model_dump(exclude={"weights"})


class MMEDiTOptions(EDiTOptions):
    eta: Optional[float] = Field(None, ge=0, le=1, description="[choice] None: N_I / (N_I + N_P)")
    dual: bool = Field(MM_CHOICES["dual"].value, description="[choice] convert MMDiT-X extra self-attention too")


OPTIONS = {"edit": EDiTOptions, "mm-edit": MMEDiTOptions}


def parse(technique: str, config: dict) -> EDiTOptions:
    cls = OPTIONS[technique]
    try:
        return cls(**(config or {}))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = " " + ".".join(str(p) for p in err["loc"]) if err["loc"] else "s"
        raise ZooError(f"{technique} option{where}: {err['msg'].removeprefix('Value error, ')} "
                       f"(options: {', '.join(cls.model_fields)})") from None
