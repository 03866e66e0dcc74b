"""Quantisation a model carries itself (quantisation-aware training, e.g. a QAT technique):
its layers hold their own scales, zero points and static activation ranges, so the export
writes those as QuantizeLinear/DequantizeLinear operators plus an AIMET-style encodings
file, instead of calibrating the model anew.

The protocol is duck-typed, so the core names no technique: a submodule that carries
quantisation has

- ``quant_encodings() -> {"param": {key: [entry, ...]}, "activation": {key: [entry, ...]}}``
  with AIMET encoding entries (``bitwidth``, ``dtype``, ``is_symmetric``, ``scale``,
  ``offset``, ``min``, ``max``; one entry per channel for per-channel scales) and keys
  relative to the submodule (``"weight"``, ``"input"``);
- ``qdq_export()``: a context manager under which its forward emits real Q/DQ operators.
"""
from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any, Iterator

from ..errors import ZooError

AIMET_VERSION = "0.6.1"
ENCODINGS_SUFFIX = ".encodings.json"


def carriers(module: Any) -> dict[str, Any]:
    """{qualified name: submodule} of the submodules that carry their own quantisation."""
    return {n: m for n, m in module.named_modules()
            if callable(getattr(m, "quant_encodings", None)) and callable(getattr(m, "qdq_export", None))}


def encodings(module: Any) -> dict[str, Any]:
    """The AIMET-style encodings of every carrier in ``module``, keyed by qualified tensor names."""
    params: dict[str, Any] = {}
    acts: dict[str, Any] = {}
    for name, m in carriers(module).items():
        enc = m.quant_encodings()
        for key, entries in enc.get("param", {}).items():
            params[f"{name}.{key}" if name else key] = entries
        for key, entries in enc.get("activation", {}).items():
            acts[f"{name}.{key}" if name else key] = entries
    return {"version": AIMET_VERSION, "activation_encodings": acts, "param_encodings": params}


def bitwidths(enc: dict[str, Any]) -> tuple[int, int]:
    """(widest weight bitwidth, widest activation bitwidth) of an encodings dict (0 when none)."""
    def widest(group: dict) -> int:
        return max((e["bitwidth"] for entries in group.values() for e in entries), default=0)

    return widest(enc["param_encodings"]), widest(enc["activation_encodings"])


def check_precision(enc: dict[str, Any], precision: str, what: str) -> None:
    """The carried bitwidths must be the ones the artifact will be named after."""
    m = re.fullmatch(r"w(\d+)a(\d+)", precision)
    if m is None:
        raise ZooError(f"{what} carries its own quantisation: export it at a quantised precision (e.g. w4a8), "
                       f"not {precision}")
    w, a = bitwidths(enc)
    if (w, a or int(m[2])) != (int(m[1]), int(m[2])):
        raise ZooError(f"{what} carries W{w}A{a or '-'} quantisation but the export asks for {precision}: "
                       f"use --precision w{w}a{a or m[2]}")


@contextlib.contextmanager
def qdq(module: Any) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for m in carriers(module).values():
            stack.enter_context(m.qdq_export())
        yield


def export_carried(name: str, mod: Any, inputs: dict, ref: Any, folder: Path, request: Any,
                   external: bool) -> dict[str, Any]:
    """``folder/{name}.onnx`` with the model's own Q/DQ operators, and ``{name}.encodings.json``
    beside it; parity against the torch (fake-quantised) model is measured and reported."""
    from .onnx_export import export_onnx, run_onnx
    from .parity import check, compare

    enc = encodings(mod)
    check_precision(enc, request.precision, name)
    final = folder / f"{name}.onnx"
    with qdq(mod):
        info = export_onnx(mod, inputs, final, request.opset, request.optimize, external)
    (folder / f"{name}{ENCODINGS_SUFFIX}").write_text(json.dumps(enc, indent=1) + "\n")
    w, a = bitwidths(enc)
    info["quantization"] = {"scheme": "QDQ (carried by the model: quantisation-aware training)",
                            "weight_bits": w, "activation_bits": a, "encodings": f"{name}{ENCODINGS_SUFFIX}",
                            "quantized_tensors": len(enc["param_encodings"]) + len(enc["activation_encodings"])}
    info["parity"] = check(compare(ref, run_onnx(final, inputs)), request.effective_tolerance,
                           f"{name} (ONNX QDQ vs the fake-quantised torch model)")
    return info
