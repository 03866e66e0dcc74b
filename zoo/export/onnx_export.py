"""ONNX: torch.onnx dynamo exporter at the spec's static shapes, external data for large
models, fp16 conversion, and onnxruntime runs for the parity check."""
from __future__ import annotations

import collections
import warnings
from pathlib import Path
from typing import Any, Optional

from ..errors import ZooError

OUTPUT_NAME = "output"
# Above this many weight bytes the weights go to a side file: protobuf caps a file at 2 GiB.
EXTERNAL_DATA_BYTES = 1 << 30


def param_bytes(module: Any) -> int:
    return sum(p.numel() * p.element_size() for p in module.parameters()) + sum(
        b.numel() * b.element_size() for b in module.buffers())


def export_onnx(module: Any, inputs: dict[str, Any], path: Path, opset: int = 18, optimize: bool = True,
                external_data: Optional[bool] = None) -> dict[str, Any]:
    """Export ``module(**inputs)`` to ``path`` with static shapes; return what the metadata records."""
    import torch

    from .onnx_rewriter import quick_multi_output_match
    from .onnx_translations import translation_table

    if external_data is None:
        external_data = param_bytes(module) > EXTERNAL_DATA_BYTES
    with warnings.catch_warnings(), torch.no_grad(), quick_multi_output_match():  # the same graph, minus an N^2 index
        warnings.simplefilter("ignore", category=FutureWarning)
        try:
            program = torch.onnx.export(
                module, (), kwargs=inputs, dynamo=True, opset_version=opset, optimize=optimize,
                output_names=[OUTPUT_NAME], external_data=external_data, verbose=False,
                custom_translation_table=translation_table(),
            )
        except Exception as exc:  # the exporter's own errors are long; keep the first lines
            raise ZooError(f"torch.onnx export failed: {_first_lines(exc)}") from exc
    program.save(str(path), external_data=external_data)
    return describe(path) | {"opset": opset, "optimized": optimize}


def describe(path: Path) -> dict[str, Any]:
    """Inputs, outputs, op counts and sizes of a saved ONNX file (weights not loaded)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    g = model.graph
    data = [p for p in Path(path).parent.iterdir() if p.name.startswith(Path(path).name + ".") or p.name == Path(path).name + ".data"]
    return {
        "file": Path(path).name,
        "external_data": sorted({p.name for p in data}) or None,
        "bytes": Path(path).stat().st_size + sum(p.stat().st_size for p in data),
        "inputs": {i.name: _value_info(i) for i in g.input},
        "outputs": {o.name: _value_info(o) for o in g.output},
        "opset_imports": {(o.domain or "ai.onnx"): o.version for o in model.opset_import},
        "nodes": len(g.node),
        "op_types": dict(collections.Counter(n.op_type for n in g.node).most_common()),
    }


def _value_info(v: Any) -> dict[str, Any]:
    import onnx

    t = v.type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in t.shape.dim]
    return {"shape": dims, "dtype": onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name}


def session(path: Path) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # errors only: ORT warns about every unused initializer
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def feeds(sess: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """numpy feeds in the session's input order, cast to its declared types."""
    import numpy as np

    out = {}
    for i in sess.get_inputs():
        if i.name not in inputs:
            raise ZooError(f"the ONNX model wants input {i.name!r}; have {sorted(inputs)}")
        a = inputs[i.name]
        a = a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)
        want = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(int64)": np.int64,
                "tensor(int32)": np.int32}.get(i.type)
        out[i.name] = a.astype(want) if want is not None and a.dtype != want else a
    return out


def run_onnx(path: Path, inputs: dict[str, Any], sess: Any = None) -> Any:
    sess = sess or session(path)
    return sess.run(None, feeds(sess, inputs))[0]


def to_fp16(src: Path, dst: Path, external_data: bool) -> None:
    """fp16 weights and compute with fp32 inputs/outputs kept (callers feed fp32 as before)."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx.load(str(src))
    # Ops whose fp16 kernels overflow or are missing on CPU stay in fp32.
    half = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=external_data,
                                    op_block_list=["Resize", "RandomNormalLike", "Range"])
    _save(half, dst, external_data)


def _save(model: Any, dst: Path, external_data: bool) -> None:
    import onnx

    if external_data:
        onnx.save_model(model, str(dst), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=Path(dst).name + ".data")
    else:
        onnx.save_model(model, str(dst))


def _first_lines(exc: BaseException, n: int = 3) -> str:
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    return f"{type(exc).__name__}: " + " | ".join(lines[:n])
