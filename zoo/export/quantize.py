"""ONNX QDQ quantisation (w8a8, w8a16) with onnxruntime's static quantiser, calibrated on
recorded component inputs."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ..errors import ZooError

# (activation type, weight type) per precision. 8-bit weights are signed and symmetric, as QNN
# HTP and most NPUs want; 16-bit activations are unsigned (QNN's w8a16 layout).
_TYPES = {"w8a8": ("QUInt8", "QInt8"), "w8a16": ("QUInt16", "QInt8")}


def quantize_qdq(src: Path, dst: Path, samples: list[dict[str, Any]], precision: str, per_channel: bool = True,
                 external_data: bool = False) -> dict[str, Any]:
    """Write a QDQ copy of the fp32 model ``src`` to ``dst``; return the settings for the metadata."""
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from .onnx_export import feeds, session

    if precision not in _TYPES:
        raise ZooError(f"no QDQ scheme for precision {precision!r}: use one of {sorted(_TYPES)}")
    if not samples:
        raise ZooError("no calibration samples")
    act, weight = (getattr(QuantType, t) for t in _TYPES[precision])
    sess = session(src)
    batches = [feeds(sess, s) for s in samples]
    del sess

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter(batches)

        def get_next(self) -> Any:
            return next(self.it, None)

        def rewind(self) -> None:
            self.it = iter(batches)

    opset = _onnx_opset(src)
    extra = {
        # 16-bit QuantizeLinear needs opset 21 in the ONNX domain; below that use the contrib ops.
        "UseQDQContribOps": act == QuantType.QUInt16 and opset < 21,
        "ActivationSymmetric": False,
        "WeightSymmetric": True,
    }
    with tempfile.TemporaryDirectory(dir=Path(dst).parent) as tmp:
        pre = Path(tmp) / "pre.onnx"
        try:  # shape inference and graph clean-up, as onnxruntime recommends before static quantisation
            quant_pre_process(str(src), str(pre), skip_symbolic_shape=True, save_as_external_data=external_data)
        except Exception:
            pre = Path(src)
        quantize_static(
            str(pre), str(dst), Reader(), quant_format=QuantFormat.QDQ, per_channel=per_channel,
            activation_type=act, weight_type=weight, calibrate_method=CalibrationMethod.MinMax,
            use_external_data_format=external_data, extra_options=extra,
        )
    return {"scheme": "QDQ", "activations": act.name, "weights": weight.name, "per_channel": per_channel,
            "calibration_method": "MinMax", "calibration_samples": len(samples),
            "contrib_ops": bool(extra["UseQDQContribOps"])}


def _onnx_opset(path: Path) -> int:
    import onnx

    m = onnx.load(str(path), load_external_data=False)
    return next((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), 0)
