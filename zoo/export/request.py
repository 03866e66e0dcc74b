"""What an export is asked to do: one typed record shared by the API, the CLI and plugins'
``export_model`` hooks (which receive it as ``request``)."""
from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

Target = Literal["onnx", "coreml", "qnn"]
# w4a8: only for models that carry their own quantisation (QAT techniques, see carried.py)
Precision = Literal["fp32", "fp16", "w8a8", "w8a16", "w4a8"]
QnnRuntime = Literal["qnn_context_binary", "tflite", "onnx"]

# Default parity tolerance per precision: max |onnxruntime - torch| divided by max(1, max |torch|).
# Quantised exports are measured against fp32 and only reported unless a tolerance is given,
# because their error depends on the weights (random-init weights quantise badly).
DEFAULT_TOLERANCE: dict[str, Optional[float]] = {"fp32": 1e-3, "fp16": 3e-2, "w8a8": None, "w8a16": None,
                                                 "w4a8": None}


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: Target = "onnx"
    precision: Precision = "fp32"
    components: Optional[list[str]] = Field(None, description="component names; None = all of the spec's")
    out_dir: Path = Path("exports")
    device: Optional[str] = Field(None, description="AI Hub device name, e.g. 'Samsung Galaxy S25'")
    chipset: Optional[str] = Field(None, description="AI Hub chipset, e.g. 'qualcomm-snapdragon-8-elite'")
    opset: int = 18
    tolerance: Optional[float] = Field(None, description="parity tolerance; None = the precision's default")
    dry_run: bool = False
    overwrite: bool = Field(False, description="replace an existing artifact folder (swapped atomically)")
    optimize: bool = Field(True, description="run the ONNX graph optimiser (constant folding, fusions)")
    external_data: Optional[bool] = Field(None, description="weights beside the .onnx file; None = when over 1 GiB")
    # Quantisation (w8a8 / w8a16)
    calibration: Literal["pipeline", "example"] = Field(
        "pipeline", description="'pipeline': capture real inputs by running the pipeline; 'example': the spec's example inputs")
    calibration_samples: int = Field(4, ge=1, description="prompts run through the pipeline (or example draws)")
    calibration_steps: int = Field(2, ge=1, description="denoising steps per calibration prompt")
    per_channel: bool = True
    # Core ML
    deployment_target: str = "iOS17"
    palettize_bits: Optional[int] = Field(None, description="Core ML weight palettisation to 1/2/4/6/8 bits")
    # Qualcomm AI Hub
    qnn_runtime: QnnRuntime = "qnn_context_binary"
    profile: bool = True
    inference: bool = False
    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> "ExportRequest":
        if self.target == "qnn" and not (self.device or self.chipset):
            self.device = "Samsung Galaxy S25"  # a current Snapdragon 8 Elite phone on AI Hub
        if self.palettize_bits is not None and self.palettize_bits not in {1, 2, 3, 4, 6, 8}:
            raise ValueError("palettize_bits must be one of 1, 2, 3, 4, 6, 8")
        return self

    @property
    def quantized(self) -> bool:
        return self.precision in {"w8a8", "w8a16", "w4a8"}

    @property
    def effective_tolerance(self) -> Optional[float]:
        return self.tolerance if self.tolerance is not None else DEFAULT_TOLERANCE[self.precision]

    def artifact_name(self, model_id: str) -> str:
        """``{id}-{target}-{precision}[-{chipset}]``: the folder that holds the exported components."""
        name = f"{model_id}-{self.target}-{self.precision}"
        if self.target == "qnn" and self.chipset:
            name += f"-{self.chipset}"
        return name

    def artifact_dir(self, model_id: str) -> Path:
        return Path(self.out_dir).expanduser() / self.artifact_name(model_id)
