"""Core ML: torch.export -> run_decompositions -> coremltools ML program (iOS17, fp16 by
default), optional weight palettisation or int8 weights, saved as .mlpackage and checked by
reading its spec back. coremltools converts on Linux; prediction needs macOS."""
from __future__ import annotations

import collections
import platform
import warnings
from pathlib import Path
from typing import Any, Optional

from ..errors import ZooError
from .onnx_export import OUTPUT_NAME

PREDICT_NOTE = "Core ML prediction runs only on macOS: parity not measured on this machine"


def _ct() -> Any:
    import logging

    # coremltools warns at import about untested torch/sklearn versions and missing macOS libs.
    logging.getLogger("coremltools").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import coremltools as ct
    return ct


def convert(module: Any, inputs: dict[str, Any], path: Path, precision: str = "fp16", deployment_target: str = "iOS17",
            palettize_bits: Optional[int] = None) -> dict[str, Any]:
    """Convert ``module(**inputs)`` and save it to ``path`` (an .mlpackage); return the metadata entry."""
    import torch

    ct = _ct()
    if precision == "w8a8":
        raise ZooError("Core ML w8a8 needs activation calibration through Core ML prediction, which runs only on "
                       "macOS: export fp16 or w8a16 (int8 weights) here, or run this on a Mac")
    target = getattr(ct.target, deployment_target, None)
    if target is None:
        raise ZooError(f"unknown Core ML deployment target {deployment_target!r} (e.g. iOS17, iOS18)")
    try:
        with torch.no_grad():
            ep = torch.export.export(module, (), kwargs=inputs, strict=False)
        from .npu_ready import clean_graph

        ep = clean_graph(ep.run_decompositions({}))  # functional ATen graph that coremltools' frontend reads
        compute = ct.precision.FLOAT32 if precision == "fp32" else ct.precision.FLOAT16
        mlmodel = ct.convert(ep, convert_to="mlprogram", minimum_deployment_target=target,
                             compute_precision=compute, outputs=[ct.TensorType(name=OUTPUT_NAME)])
    except ZooError:
        raise
    except Exception as exc:
        msg = " | ".join([ln for ln in str(exc).splitlines() if ln.strip()][:3])
        raise ZooError(f"Core ML conversion failed: {type(exc).__name__}: {msg}") from exc
    compression = None
    if precision == "w8a16":
        cfg = ct.optimize.coreml.OptimizationConfig(global_config=ct.optimize.coreml.OpLinearQuantizerConfig(
            mode="linear_symmetric", dtype="int8", weight_threshold=0))
        mlmodel = ct.optimize.coreml.linear_quantize_weights(mlmodel, cfg)
        compression = {"weights": "int8 linear symmetric, per channel"}
    if palettize_bits:
        cfg = ct.optimize.coreml.OptimizationConfig(global_config=ct.optimize.coreml.OpPalettizerConfig(
            mode="kmeans", nbits=palettize_bits, weight_threshold=0))
        mlmodel = ct.optimize.coreml.palettize_weights(mlmodel, cfg)
        compression = {"weights": f"{palettize_bits}-bit k-means palettisation"}
    mlmodel.save(str(path))
    info = check_spec(path, inputs)
    info.update({"deployment_target": deployment_target, "compute_precision": "fp32" if precision == "fp32" else "fp16",
                 "compression": compression})
    return info


def check_spec(path: Path, inputs: dict[str, Any]) -> dict[str, Any]:
    """Read the saved package's spec back: inputs as exported, one output, a non-empty program."""
    ct = _ct()
    spec = ct.utils.load_spec(str(path))
    got_in = {i.name: [int(d) for d in i.type.multiArrayType.shape] for i in spec.description.input}
    want_in = {n: [int(d) for d in t.shape] for n, t in inputs.items()}
    if got_in != want_in:
        raise ZooError(f"the Core ML model's inputs {got_in} differ from the component's {want_in}")
    outs = [o.name for o in spec.description.output]
    if outs != [OUTPUT_NAME]:
        raise ZooError(f"the Core ML model's outputs are {outs}, expected [{OUTPUT_NAME!r}]")
    ops = collections.Counter(
        op.type for f in spec.mlProgram.functions.values() for b in f.block_specializations.values() for op in b.operations)
    if not ops:
        raise ZooError(f"the Core ML program in {path} has no operations")
    return {
        "file": Path(path).name,
        "bytes": sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()),
        "spec_version": spec.specificationVersion,
        "inputs": {n: {"shape": s} for n, s in got_in.items()},
        "outputs": outs,
        "ops": sum(ops.values()),
        "op_types": dict(ops.most_common()),
    }


def predict_parity(path: Path, inputs: dict[str, Any], reference: Any) -> dict[str, Any]:
    """Run the package with Core ML and compare with torch where that is possible (macOS)."""
    if platform.system() != "Darwin":
        return {"skipped": PREDICT_NOTE}
    from .parity import compare

    ct = _ct()
    model = ct.models.MLModel(str(path))
    out = model.predict({n: t.detach().cpu().numpy() for n, t in inputs.items()})[OUTPUT_NAME]
    return compare(reference, out)
