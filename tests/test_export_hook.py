"""The owning plugin's export_model hook runs first; None falls back to the generic exporter."""
from __future__ import annotations

import pytest

pytest.importorskip("onnxruntime")

from export_models import tiny_conv, tiny_conv_spec  # noqa: E402

import zoo  # noqa: E402
from zoo.export import ExportRequest, export  # noqa: E402
from zoo.plugins import get_plugin_manager  # noqa: E402


class Owner:
    def __init__(self, answer):
        self.answer, self.seen = answer, []

    @zoo.hookimpl
    def export_model(self, spec, model, request):
        self.seen.append((spec.id, request.target))
        return self.answer(request) if callable(self.answer) else self.answer


@pytest.fixture
def owner():
    pm = get_plugin_manager()
    plugins = []

    def make(answer):
        p = Owner(answer)
        pm.register(p, name=f"export-owner-{len(plugins)}")
        plugins.append(f"export-owner-{len(plugins)}")
        return p, plugins[-1]

    yield make
    for name in plugins:
        pm.unregister(name)


def test_plugin_export_wins(owner, tmp_path):
    plugin, name = owner(lambda req: [req.out_dir / "special.bin"])
    spec = tiny_conv_spec().model_copy(update={"plugin": name})
    assert export(tiny_conv(), ExportRequest(out_dir=tmp_path), spec=spec) == [tmp_path / "special.bin"]
    assert plugin.seen == [("tiny-conv", "onnx")]
    assert not any(tmp_path.iterdir())  # the generic exporter did not run


def test_none_falls_back_to_generic(owner, tmp_path):
    plugin, name = owner(None)
    spec = tiny_conv_spec().model_copy(update={"plugin": name})
    paths = export(tiny_conv(), ExportRequest(out_dir=tmp_path), spec=spec, progress=False)
    assert plugin.seen and paths[0] == tmp_path / "tiny-conv-onnx-fp32" / "unet.onnx" and paths[0].exists()
