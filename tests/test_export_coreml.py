"""Core ML: a one-block UNet converts through torch.export -> run_decompositions ->
coremltools into an .mlpackage whose spec has the component's inputs; prediction is
reported as macOS-only instead of failing."""
from __future__ import annotations

import json
import platform

import pytest

pytest.importorskip("coremltools")

from export_models import UNET_INPUTS, mini_unet, mini_unet_spec, tiny_conv, tiny_conv_spec  # noqa: E402

from zoo import ZooError  # noqa: E402
from zoo.export import ExportRequest, export  # noqa: E402


def test_mini_unet_to_mlpackage_with_expected_spec(tmp_path):
    paths = export(mini_unet(), ExportRequest(target="coreml", precision="fp16", out_dir=tmp_path),
                   spec=mini_unet_spec(), progress=False)
    pkg = tmp_path / "mini-unet-coreml-fp16" / "unet.mlpackage"
    assert paths[0] == pkg and (pkg / "Manifest.json").exists()

    from zoo.export.coreml_export import _ct

    spec = _ct().utils.load_spec(str(pkg))
    assert {i.name: list(i.type.multiArrayType.shape) for i in spec.description.input} == UNET_INPUTS
    assert [o.name for o in spec.description.output] == ["output"]
    meta = json.loads((pkg.parent / "metadata.json").read_text())["components"]["unet"]
    assert meta["deployment_target"] == "iOS17" and meta["compute_precision"] == "fp16"
    assert meta["ops"] > 20 and meta["op_types"].get("conv", 0) >= 3
    if platform.system() != "Darwin":
        assert "macOS" in meta["parity"]["skipped"]


def test_int8_weights_and_w8a8_refusal(tmp_path):
    paths = export(tiny_conv(), ExportRequest(target="coreml", precision="w8a16", out_dir=tmp_path),
                   spec=tiny_conv_spec(), progress=False)
    meta = json.loads(paths[-1].read_text())["components"]["unet"]
    assert meta["compression"] == {"weights": "int8 linear symmetric, per channel"}
    assert "constexpr_blockwise_shift_scale" in meta["op_types"] or any("dequant" in k for k in meta["op_types"])
    with pytest.raises(ZooError, match="only on\\s+macOS|runs only on macOS"):
        export(tiny_conv(), ExportRequest(target="coreml", precision="w8a8", out_dir=tmp_path / "x"),
               spec=tiny_conv_spec(), progress=False)
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())
