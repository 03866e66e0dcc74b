"""The core's generic exporter, used when the owning plugin's ``export_model`` hook returns
None: every component at its spec's static shapes to ONNX (fp32/fp16/QDQ), Core ML or
Qualcomm AI Hub, checked against torch, written atomically with a metadata file."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Optional

from ..components import component_modules
from ..specs import ModelSpec
from . import metadata
from .parity import check, compare
from .npu_ready import npu_ready
from .request import DEFAULT_TOLERANCE, ExportRequest
from .staging import staged_dir


def export_generic(spec: ModelSpec, model: Any, request: ExportRequest, pretrained: Optional[bool] = None,
                   progress: bool = True, client: Any = None) -> list[Path]:
    import torch

    mods = component_modules(model, spec, request.components)
    mods = {n: npu_ready(m, x) for n, (m, x) in mods.items()}  # int32 ids, eager attention: NPU-clean graphs
    final = request.artifact_dir(spec.id)
    previous = metadata.read(final)
    records: list[dict] = []
    with staged_dir(final, request.overwrite) as tmp:
        # Core ML quantises weights only (activations would need Core ML prediction, i.e. macOS).
        calibrate = request.quantized and request.target != "coreml"
        # components that carry their own quantisation (QAT) need no calibration
        from .carried import carriers

        to_calibrate = [n for n, (m, _) in mods.items() if not carriers(m)]
        samples = _calibration(model, spec, request, to_calibrate, progress) if calibrate and to_calibrate else {}
        comps: dict[str, Any] = {}
        refs: dict[str, Any] = {}
        for name, (mod, inputs) in _progress(mods.items(), progress, request):
            with torch.no_grad():
                refs[name] = mod(**inputs)
            if request.target == "coreml":
                from .coreml_export import convert, predict_parity

                path = tmp / f"{name}.mlpackage"
                info = convert(mod, inputs, path, request.precision, request.deployment_target, request.palettize_bits)
                info["parity"] = predict_parity(path, inputs, refs[name])
            else:
                folder = tmp if request.target == "onnx" else tmp / "onnx" / name
                folder.mkdir(parents=True, exist_ok=True)
                info = onnx_component(name, mod, inputs, refs[name], folder, request, samples.get(name))
            info["input_shapes"] = metadata.tensor_specs(inputs)
            info["output_shape"] = list(refs[name].shape)
            comps[name] = info
        extra: dict[str, Any] = {}
        if request.target == "qnn":
            from . import qaihub

            job_plan = qaihub.plan(spec.id, request, {n: {"model": _qnn_model_path(tmp, n), "inputs": c["input_shapes"]}
                                                       for n, c in comps.items()})
            results = qaihub.run(job_plan, tmp, {n: mods[n][1] for n in comps}, refs, client=client, progress=progress)
            _relativize(job_plan, tmp)
            for n, r in results.items():
                comps[n]["qai_hub"] = r
            records = qaihub.eval_records(spec.id, request, results)
            extra = {"qai_hub": {"plan": job_plan, "device": qaihub.device_label(request), "runtime": request.qnn_runtime},
                     "eval_records": records}
        new = {
            "artifact": final.name, "model_id": spec.id, "target": request.target, "precision": request.precision,
            "chipset": request.chipset, "device": request.device, "created": metadata.now(),
            "source": metadata.source_info(spec, model, pretrained), "tools": metadata.tool_versions(),
            "request": request.model_dump(mode="json", exclude={"out_dir"}), "components": comps, **extra,
        }
        metadata.write(tmp, metadata.merged(previous, new))
    if records and request.target == "qnn":
        from ..evaluate.records import save_records

        save_records(records)
    return _written(final, comps)


def onnx_component(name: str, mod: Any, inputs: dict, ref: Any, folder: Path, request: ExportRequest,
                   samples: Optional[list]) -> dict[str, Any]:
    """Export one component to ``folder/{name}.onnx`` at the requested precision, with parity."""
    from .onnx_export import describe, export_onnx, param_bytes, run_onnx, to_fp16

    final = folder / f"{name}.onnx"
    external = request.external_data
    if external is None:
        from .onnx_export import EXTERNAL_DATA_BYTES

        external = param_bytes(mod) > EXTERNAL_DATA_BYTES
    if request.quantized:
        from .carried import carriers, export_carried

        if carriers(mod):
            return export_carried(name, mod, inputs, ref, folder, request, external)
    work = folder / f".{name}.work"
    work.mkdir()
    try:
        fp32 = final if request.precision == "fp32" else work / f"{name}.onnx"
        info = export_onnx(mod, inputs, fp32, request.opset, request.optimize, external)
        tol32 = request.effective_tolerance if request.precision == "fp32" else DEFAULT_TOLERANCE["fp32"]
        parity32 = check(compare(ref, run_onnx(fp32, inputs)), tol32, f"{name} (ONNX fp32 vs torch)")
        if request.precision == "fp32":
            info["parity"] = parity32
            return info
        if request.precision == "fp16":
            to_fp16(fp32, final, external)
            extra: dict[str, Any] = {"conversion": "onnxruntime float16 (fp32 inputs/outputs kept)"}
        else:
            from .quantize import quantize_qdq

            extra = {"quantization": quantize_qdq(fp32, final, samples or [], request.precision, request.per_channel,
                                                  external)}
        got = run_onnx(final, inputs)
        info = describe(final) | {"opset": request.opset, "optimized": request.optimize, **extra}
        info["parity"] = check(compare(ref, got), request.effective_tolerance,
                               f"{name} (ONNX {request.precision} vs torch fp32)")
        info["parity_fp32_export"] = parity32
        return info
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _calibration(model: Any, spec: ModelSpec, request: ExportRequest, names: list[str], progress: bool) -> dict:
    from . import calibration

    comps = [spec.component(n) for n in names]
    if request.calibration == "example":
        return {c.name: calibration.example_samples(c, request.calibration_samples) for c in comps}
    return calibration.capture(model, spec, comps, request.calibration_samples, request.calibration_steps,
                               request.seed, progress)


def _qnn_model_path(tmp: Path, name: str) -> Path:
    """What AI Hub gets: the .onnx file, or its folder when the weights are in a side file."""
    folder = tmp / "onnx" / name
    return folder if any(folder.glob("*.data")) else folder / f"{name}.onnx"


def _relativize(job_plan: dict, tmp: Path) -> None:
    for jobs in job_plan["jobs"].values():
        jobs["compile"]["model"] = str(Path(jobs["compile"]["model"]).relative_to(tmp))


def _written(final: Path, comps: dict[str, Any]) -> list[Path]:
    out = []
    for name, info in comps.items():
        hub_file = (info.get("qai_hub") or {}).get("compile", {}).get("file")
        out.append(final / (hub_file or info["file"]))
    out.append(final / metadata.METADATA_FILE)
    return out


def _progress(items: Any, enabled: bool, request: ExportRequest) -> Any:
    items = list(items)
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=f"export {request.target} {request.precision}", unit="component")
