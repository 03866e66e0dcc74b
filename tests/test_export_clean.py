"""Every component exports clean: what export and `zoo export --check` do to a component first
(zoo.export.npu_ready), and the lint over registered models (tiny ones: the SD-family text
encoder in the default run, every component in a slow test; full-size ones: slow)."""
from __future__ import annotations

import pytest
import torch

import zoo
from zoo.export.lint import lint
from zoo.export.npu_ready import drop_aliases, eager_attention, npu_ready


def test_sd_family_clip_text_encoder_passes_the_lint():
    report = lint("sd15-tiny", components=["text_encoder"])  # both NPUs: QNN HTP (ONNX) and Core ML (ATen)
    assert report.ok and report.issues == [], report.format()


def test_npu_ready_keeps_outputs_and_narrows_ids():
    from zoo.components import component_module, example_inputs

    pipe = zoo.build("sd15-tiny")
    comp = zoo.get_spec("sd15-tiny").component("text_encoder")
    mod, x = component_module(pipe, comp), example_inputs(comp)
    impl = pipe.text_encoder.config._attn_implementation
    ready, x32 = npu_ready(mod, x)
    assert x["input_ids"].dtype == torch.int64 and x32["input_ids"].dtype == torch.int32
    with torch.no_grad():
        torch.testing.assert_close(ready(**x32), mod(**x), rtol=1e-5, atol=1e-5)
    assert pipe.text_encoder.config._attn_implementation == impl  # the user's model is left as it was


def test_ids_stay_int64_where_the_module_needs_them():
    class OneHot(torch.nn.Module):
        def forward(self, labels):
            return torch.nn.functional.one_hot(labels, 4).float()  # one_hot takes int64 only

    _, out = npu_ready(OneHot(), {"labels": torch.tensor([1, 2])})
    assert out["labels"].dtype == torch.int64


def test_eager_attention_is_scoped():
    te = zoo.build("sd15-tiny").text_encoder
    before = te.config._attn_implementation
    with eager_attention(te):
        assert te.config._attn_implementation == "eager"
    assert te.config._attn_implementation == before


def test_alias_nodes_are_dropped():
    class Sliced(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("pos", torch.arange(8)[None])

        def forward(self, x):
            return x + self.pos[:, : x.shape[1]]  # a full slice of a buffer exports as aten.alias

    x = torch.zeros(1, 8, dtype=torch.long)
    ep = torch.export.export(Sliced(), (x,), strict=False).run_decompositions({})
    assert any(n.target is torch.ops.aten.alias.default for n in ep.graph.nodes)
    ep = drop_aliases(ep)
    assert not any(n.target is torch.ops.aten.alias.default for n in ep.graph.nodes)
    torch.testing.assert_close(ep.module()(x), Sliced()(x))


def _ids(tiny: bool) -> list[str]:
    return [s.id for s in zoo.get_registry().list() if s.components and s.id.split(".")[0].endswith("-tiny") == tiny]


@pytest.mark.slow
@pytest.mark.parametrize("model_id", _ids(tiny=True))
def test_every_tiny_component_is_npu_ready(model_id):
    report = lint(model_id)
    assert report.ok, report.format()


@pytest.mark.slow
@pytest.mark.parametrize("model_id", _ids(tiny=False))
def test_every_full_size_component_is_npu_ready(model_id):
    # Full size at random init: minutes and GBs per model (SD3.5-Medium ~10 GB); run on a big machine.
    report = lint(model_id)
    assert report.ok, report.format()


def test_unpatchify_traces_without_rank_6_tensors():
    from zoo.export.lint import lint_module

    class Unpatchify(torch.nn.Module):  # what every diffusers DiT/PixArt/SD3 transformer ends with
        def forward(self, tokens):
            n, h, w, p, c = 1, 4, 4, 2, 3
            x = tokens.reshape(n, h, w, p, p, c)
            x = torch.einsum("nhwpqc->nchpwq", x)
            return x.reshape(n, c, h * p, w * p)

    tokens = torch.randn(1, 16, 12)
    ref = Unpatchify()(tokens)
    ready, x = npu_ready(Unpatchify(), {"tokens": tokens})
    with torch.no_grad():
        assert torch.equal(ready(**x), ref)
    assert any(i.rule == "rank" for i in lint_module("raw", Unpatchify(), {"tokens": tokens}, ["qnn"]))
    assert lint_module("ready", ready, x, ["qnn", "coreml"]) == []


def test_bad_export_argument_is_one_line():
    from zoo.errors import ZooError
    from zoo.export import export

    for bad in ({"palettize_bits": 5}, {"precision": "int3"}, {"calibration_samples": 0}):
        with pytest.raises(ZooError) as exc:
            export("sd15-tiny", pretrained=False, **bad)
        assert "\n" not in str(exc.value) and next(iter(bad)) in str(exc.value)
