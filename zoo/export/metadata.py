"""The metadata file written beside every export: shapes, opset or deployment target, tool
versions, source revision and parity numbers, per component. Later steps (AI Hub jobs) add
their results to the same file."""
from __future__ import annotations

import datetime as _dt
import importlib.metadata as md
import json
from pathlib import Path
from typing import Any, Optional

METADATA_FILE = "metadata.json"
_TOOLS = ("ondevice-diffusion-zoo", "torch", "diffusers", "transformers", "onnx", "onnxruntime", "onnxscript",
          "coremltools", "qai-hub", "numpy")


def tool_versions() -> dict[str, Optional[str]]:
    out = {}
    for dist in _TOOLS:
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            out[dist] = None
    return out


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def source_info(spec: Any, model: Any = None, pretrained: Optional[bool] = None) -> dict[str, Any]:
    """Where the exported weights came from (Hub repo and pinned revision, or random init)."""
    info = {"model_id": spec.id, "hub_repo": spec.hub_repo, "revision": spec.revision, "plugin": spec.plugin}
    # pretrained=None: the caller passed a model object, whose weights the zoo did not load itself
    info["weights"] = {True: "pretrained", False: "random-init", None: "in-memory model"}[pretrained]
    path = getattr(model, "name_or_path", None) or getattr(getattr(model, "config", None), "_name_or_path", None)
    if path:
        info["loaded_from"] = str(path)
    return info


def tensor_specs(arrays: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{name: {shape, dtype}} of torch tensors or numpy arrays."""
    out = {}
    for name, a in arrays.items():
        dtype = str(a.dtype).replace("torch.", "")
        out[name] = {"shape": [int(d) for d in a.shape], "dtype": dtype}
    return out


def read(folder: Path) -> dict[str, Any]:
    f = Path(folder) / METADATA_FILE
    if not f.exists():
        return {}
    try:
        return json.loads(f.read_text())
    except json.JSONDecodeError:
        return {}  # a damaged file from an older run is rewritten, not trusted


def write(folder: Path, data: dict[str, Any]) -> Path:
    f = Path(folder) / METADATA_FILE
    f.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return f


def merged(previous: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``new`` over ``previous``, keeping components exported earlier into the same folder."""
    out = {**previous, **new}
    out["components"] = {**previous.get("components", {}), **new.get("components", {})}
    return out
