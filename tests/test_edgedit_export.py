"""EdgeDiT's transformer exports to ONNX with onnxruntime parity and passes the NPU lint
(rank <= 4 everywhere: its unpatchify avoids diffusers' rank-6 reshape)."""
from __future__ import annotations

import json


def test_onnx_export_parity_and_clean_npu_lint(tmp_path):
    import zoo.export

    paths = zoo.export.export("edgedit-tiny", target="onnx", components=["transformer"], out_dir=tmp_path,
                              pretrained=False, progress=False)
    assert any(str(p).endswith("transformer.onnx") for p in paths)
    meta = json.loads(next(tmp_path.rglob("metadata.json")).read_text())
    assert meta["components"]["transformer"]["parity"]["passed"]
    report = zoo.export.lint("edgedit-tiny", components=["transformer"])
    assert report.issues == []
