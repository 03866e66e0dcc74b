"""`zoo.export.export`: the owning plugin's ``export_model`` hook first, the core's generic
exporter when it returns None."""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Optional, Union

from ..errors import ZooError
from ..specs import ModelSpec
from .request import ExportRequest


def export(model_or_id: Union[str, Any], request: Optional[ExportRequest] = None, *, spec: Optional[ModelSpec] = None,
           pretrained: bool = True, weights: Optional[str] = None, revision: Optional[str] = None,
           progress: bool = True, client: Any = None, **fields: Any) -> list[Path]:
    """Export a model (an id, or a model from ``zoo.load``) per ``request`` (or its fields as
    keyword arguments). Returns the written artifact paths; ``[]`` for a dry run.

    ``client`` replaces the qai_hub client (tests); by default the real one is used.
    """
    from ..loading import load, spec_of
    from ..plugins import get_plugin_manager
    from ..registry import get_registry

    request = request or _request(fields)
    model = None
    if isinstance(model_or_id, str):
        spec = spec or get_registry().get(model_or_id)
    else:
        model = model_or_id
        spec = spec or spec_of(model)
        if spec is None:
            raise ZooError("this model has no zoo spec: load it with zoo.load, or pass spec=")
    _check(spec, request)
    if request.dry_run:
        print(json.dumps(dry_run_plan(spec, request), indent=2))
        return []
    from .staging import check_destination

    check_destination(request.artifact_dir(spec.id), request.overwrite)
    if request.target == "qnn" and client is None:
        from .qaihub import require_token

        require_token()  # before minutes of local export
    if model is None:
        model = load(spec.id, pretrained=pretrained, weights=weights, revision=revision, progress=progress)
    out = get_plugin_manager().call_owner(spec.plugin, "export_model", spec=spec, model=model, request=request)
    if out is not None:
        return [Path(p) for p in out]
    from .generic import export_generic

    return export_generic(spec, model, request, pretrained=pretrained if isinstance(model_or_id, str) else None,
                          progress=progress, client=client)


def _request(fields: dict[str, Any]) -> ExportRequest:
    """An ExportRequest from keyword arguments; a bad value is one line naming the argument."""
    from pydantic import ValidationError

    try:
        return ExportRequest(**fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err.get("loc", ())) or "request"
        raise ZooError(f"export argument {where}={err.get('input')!r}: {err.get('msg')}") from None


def _check(spec: ModelSpec, request: ExportRequest) -> None:
    if not spec.components:
        raise ZooError(f"{spec.id} declares no components to export")
    names = [c.name for c in spec.components]
    missing = [n for n in request.components or [] if n not in names]
    if missing:
        raise ZooError(f"{spec.id} has no component(s) {missing}; it has {names}")
    if request.target not in spec.export_targets:
        warnings.warn(f"{spec.id} does not list {request.target!r} among its export targets {spec.export_targets}",
                      stacklevel=3)


def dry_run_plan(spec: ModelSpec, request: ExportRequest) -> dict[str, Any]:
    """What an export would write (and, for qnn, submit), from the spec alone: nothing is built."""
    comps = [c for c in spec.components if not request.components or c.name in request.components]
    shapes = {c.name: {n: {"shape": s, "dtype": c.input_dtypes.get(n, "float32")} for n, s in c.inputs.items()}
              for c in comps}
    out: dict[str, Any] = {"artifact": str(request.artifact_dir(spec.id)), "target": request.target,
                           "precision": request.precision, "components": shapes}
    if request.target == "qnn":
        from . import qaihub

        models = {c.name: {"model": str(Path("onnx") / c.name / f"{c.name}.onnx"), "inputs": shapes[c.name]}
                  for c in comps}
        out["qai_hub"] = qaihub.plan(spec.id, request, models)
        out["qai_hub"]["token"] = "found" if qaihub.has_token() else f"missing ({qaihub.config_path()})"
    return out
