"""The EDiT attention layer (ConvFusion + compressor + linear attention) exports to ONNX at static shapes
with onnxruntime parity and passes the NPU lint. (The whole tiny transformer does not export yet: the
stock pixart-sigma-tiny transformer fails onnxruntime's load the same way, a Squeeze over the caption
axis, so that gap is PixArt's, not EDiT's.)"""
from __future__ import annotations

import torch

import zoo


def test_edit_attention_onnx_parity_and_npu_lint(tmp_path):
    from zoo.building import build_component
    from zoo.export.lint import lint_module
    from zoo.export.onnx_export import export_onnx, run_onnx
    from zoo_edit.models import convert

    torch.manual_seed(0)
    t = convert(build_component(zoo.get_spec("pixart-sigma-tiny").config["components"]["transformer"])).eval()
    attn = t.transformer_blocks[0].attn1
    torch.nn.init.normal_(attn.edit_q.conv1.weight, std=0.1)  # ConvFusion live, not at its zero init

    class Layer(torch.nn.Module):
        def __init__(self, a):
            super().__init__()
            self.a = a

        def forward(self, x):
            t._edit_grid.hw = (8, 8)
            return self.a(x)

    layer, x = Layer(attn).eval(), torch.randn(1, 64, 32)
    with torch.no_grad():
        ref = layer(x)
    export_onnx(layer, {"x": x}, tmp_path / "attn.onnx")
    out = run_onnx(tmp_path / "attn.onnx", {"x": x})
    out = torch.as_tensor(out[0] if isinstance(out, (list, tuple)) else out)
    assert torch.allclose(out, ref, atol=1e-5)
    assert lint_module("edit_attn", layer, {"x": x}) == []
