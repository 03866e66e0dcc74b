"""ONNX export of tiny components: onnxruntime agrees with torch, artifacts and metadata are
written atomically, and a failed parity check leaves nothing."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("onnxruntime")

from export_models import mini_unet, mini_unet_spec, tiny_conv, tiny_conv_spec  # noqa: E402

import zoo  # noqa: E402
from zoo.export import ExportRequest, export  # noqa: E402
from zoo.export.parity import ParityError  # noqa: E402


@pytest.fixture(scope="module")
def tiny_pipe():
    return zoo.load("sd15-tiny", pretrained=False)


@pytest.mark.parametrize("component", ["text_encoder", "vae_decoder", "vae_encoder"])
def test_sd15_tiny_component_onnx_matches_torch(tiny_pipe, tmp_path, component):
    req = ExportRequest(target="onnx", components=[component], out_dir=tmp_path)
    paths = export(tiny_pipe, req, progress=False)
    folder = tmp_path / "sd15-tiny-onnx-fp32"
    assert paths == [folder / f"{component}.onnx", folder / "metadata.json"]
    meta = json.loads((folder / "metadata.json").read_text())
    c = meta["components"][component]
    assert c["parity"]["rel_max"] <= 1e-3 and c["parity"]["cosine"] > 0.9999
    # integer inputs (token ids) cross the graph boundary as int32 (zoo.export.npu_ready)
    assert c["input_shapes"] == {n: {"shape": s, "dtype": d.replace("int64", "int32")}
                                 for n, s, d in _spec_inputs(component)}
    assert all(isinstance(d, int) for i in c["inputs"].values() for d in i["shape"])  # static shapes in the graph
    import onnxruntime

    assert meta["tools"]["onnxruntime"] == onnxruntime.__version__
    assert meta["source"] | {"weights": "in-memory model", "model_id": "sd15-tiny"} == meta["source"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def _spec_inputs(component):
    comp = zoo.get_spec("sd15-tiny").component(component)
    return [(n, s, comp.input_dtypes.get(n, "float32")) for n, s in comp.inputs.items()]


def test_mini_unet_onnx_matches_torch(tmp_path):
    spec, unet = mini_unet_spec(), mini_unet()
    export(unet, ExportRequest(target="onnx", out_dir=tmp_path, optimize=False), spec=spec, progress=False)
    meta = json.loads((tmp_path / "mini-unet-onnx-fp32" / "metadata.json").read_text())
    p = meta["components"]["unet"]["parity"]
    assert p["max_abs"] < 1e-4 and p["cosine"] > 0.99999
    assert meta["components"]["unet"]["inputs"]["sample"]["shape"] == [1, 4, 8, 8]


def test_failed_parity_leaves_no_artifact(tmp_path):
    spec, unet = tiny_conv_spec(), tiny_conv()
    # A tolerance no float computation meets: the export must fail and leave nothing behind.
    req = ExportRequest(target="onnx", out_dir=tmp_path, optimize=False, tolerance=-1.0)
    with pytest.raises(ParityError, match="past the tolerance"):
        export(unet, req, spec=spec, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_qdq_w8a16_runs_and_reports_error(tmp_path):
    spec, unet = mini_unet_spec(), mini_unet()
    req = ExportRequest(target="onnx", precision="w8a16", out_dir=tmp_path, optimize=False, calibration="example",
                        calibration_samples=3)
    paths = export(unet, req, spec=spec, progress=False)
    onnx_file = tmp_path / "mini-unet-onnx-w8a16" / "unet.onnx"
    assert paths[0] == onnx_file
    import onnx

    ops = {n.op_type for n in onnx.load(str(onnx_file)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    c = json.loads((onnx_file.parent / "metadata.json").read_text())["components"]["unet"]
    assert c["quantization"]["activations"] == "QUInt16" and c["quantization"]["calibration_samples"] == 3
    assert 0 < c["parity"]["max_abs"] and c["parity"]["cosine"] > 0.9  # measured against torch fp32
    assert c["parity_fp32_export"]["rel_max"] <= 1e-3


@pytest.mark.slow
def test_sd15_tiny_unet_onnx_matches_torch(tiny_pipe, tmp_path):
    # ~1 min on 2 cores (the exporter's cost follows the node count, and this UNet has all four stages)
    export(tiny_pipe, ExportRequest(target="onnx", components=["unet"], out_dir=tmp_path), progress=False)
    meta = json.loads((tmp_path / "sd15-tiny-onnx-fp32" / "metadata.json").read_text())
    assert meta["components"]["unet"]["parity"]["rel_max"] <= 1e-3
