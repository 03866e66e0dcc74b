"""Export to phone NPUs: ONNX (fp32/fp16, QDQ w8a8/w8a16), Core ML and Qualcomm AI Hub, with
parity checks, atomic output and a metadata file; plus the NPU-readiness lint.

    from zoo.export import export, ExportRequest
    export("sd15-tiny", ExportRequest(target="onnx", components=["unet"]), pretrained=False)

Light at import: torch, onnx and coremltools load inside the functions.
"""
from __future__ import annotations

from typing import Any

from . import lint as _lint_module  # noqa: F401  light; loaded now so importing it later cannot
# replace the package attribute ``zoo.export.lint`` (the function below) with the submodule
from .request import ExportRequest


def export(*args: Any, **kwargs: Any) -> Any:
    from .api import export as _export

    return _export(*args, **kwargs)


export.__doc__ = "See zoo.export.api.export."


def lint(*args: Any, **kwargs: Any) -> Any:
    return _lint_module.lint(*args, **kwargs)


lint.__doc__ = "See zoo.export.lint.lint."

__all__ = ["export", "lint", "ExportRequest"]
