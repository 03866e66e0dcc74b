"""ONNX export of EDiT: the whole PixArt transformer (stock, and converted with ConvFusion live) and the
MM-EDiT SD3 transformer through ``zoo.export`` at the spec's static shapes, with onnxruntime parity and a clean NPU lint.

The whole-transformer export used to fail for every diffusers PixArt transformer (stock too): its
``hidden_states.squeeze(1)`` on B x N x C is a no-op in torch, but onnxscript translated it to an ONNX
Squeeze that onnxruntime refuses to load. ``zoo/export/onnx_translations.py`` corrects the translation."""
from __future__ import annotations

import pytest
import torch

import zoo


def _ort(path, inputs):
    from zoo.export.onnx_export import run_onnx

    out = run_onnx(path, inputs)
    return torch.as_tensor(out[0] if isinstance(out, (list, tuple)) else out)


def test_squeeze_of_a_non_unit_axis_exports_as_a_no_op(tmp_path):
    from zoo.export.onnx_export import export_onnx

    class M(torch.nn.Module):
        def forward(self, x):
            return x.squeeze(1) * 2 + x.squeeze(0).sum(0) + x.squeeze(-1).sum()  # axis 0 has size 1; 1, -1 do not

    x = torch.randn(1, 16, 4)
    export_onnx(M(), {"x": x}, tmp_path / "m.onnx")
    assert torch.allclose(_ort(tmp_path / "m.onnx", {"x": x}), M()(x), atol=1e-5)


@pytest.mark.parametrize("model_id", ["pixart-sigma-tiny", "edit-pixart-sigma-tiny", "mm-edit-sd35m-tiny"])
def test_whole_transformer_exports_with_parity(tmp_path, model_id):
    import json

    from zoo.export import export
    from zoo.export.lint import lint_module
    from zoo.export.npu_ready import npu_ready

    torch.manual_seed(0)
    pipe = zoo.load(model_id, pretrained=False)
    t = pipe.transformer.eval()
    converted = "edit" in model_id
    if converted:
        assert type(t).__name__ in ("EDiTPixArtTransformer2DModel", "MMEDiTSD3Transformer2DModel")
        for attn in t.edit_attention_modules().values():  # ConvFusion live, not at its zero init
            torch.nn.init.normal_(attn.edit_q.conv1.weight, std=0.1)
    paths = export(pipe, target="onnx", components=["transformer"], out_dir=tmp_path, progress=False)
    folder = next(p for p in paths if p.name == "transformer.onnx").parent
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["components"]["transformer"]["parity"]["passed"], meta["components"]["transformer"]["parity"]
    # our own check at inputs other than the spec's example ones
    g = torch.Generator().manual_seed(7)
    shapes = {c.name: c.inputs for c in zoo.get_spec(model_id).components}["transformer"]
    x = {k: torch.randn(*shape, generator=g) for k, shape in shapes.items() if k != "timestep"}
    x["timestep"] = torch.tensor([321.0])
    with torch.no_grad():
        ref = t(**x).sample
    assert torch.allclose(_ort(folder / "transformer.onnx", x), ref, atol=1e-4)
    if converted:  # linted as exported: through the core's NPU preparation
        assert lint_module("transformer", *npu_ready(t, x)) == []
