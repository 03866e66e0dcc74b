"""Every component exports clean: what export and `zoo export --check` do to a component first
(zoo.export.npu_ready), and the lint over registered models: every component of every `-tiny`
model in the default run (zoo.export.lint_models: each distinct component linted once, in two
worker processes, reported per model), every full-size model in a slow test."""
from __future__ import annotations

import contextlib

import pytest
import torch

import zoo
from zoo.export.lint import lint
from zoo.export.npu_ready import drop_aliases, eager_attention, npu_ready


def test_sd_family_clip_text_encoder_passes_the_lint(tiny_reports):
    report = tiny_reports["sd15-tiny"]  # both NPUs: QNN HTP (ONNX) and Core ML (ATen)
    assert report.targets == ["qnn", "coreml"] and report.for_component("text_encoder") == [], report.format()


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


@pytest.fixture(scope="module")
def tiny_reports():
    from zoo.export.lint_models import lint_models

    return lint_models(_ids(tiny=True), workers=2, progress=False)


@pytest.mark.parametrize("model_id", _ids(tiny=True))
def test_every_tiny_component_is_npu_ready(model_id, tiny_reports):
    report = tiny_reports[model_id]
    assert report.components == [c.name for c in zoo.get_spec(model_id).components]
    assert report.ok, report.format()


@pytest.mark.slow
@pytest.mark.parametrize("model_id", _ids(tiny=False))
def test_every_full_size_component_is_npu_ready(model_id):
    # Full size at random init: minutes and GBs per model (pixart-sigma and sd35-medium need more
    # than 20 GB); run on a big machine.
    report = lint(model_id)
    assert report.ok, report.format()


class _Block(torch.nn.Module):
    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(4, width, 3, padding=1)

    def forward(self, sample):
        return torch.nn.functional.silu(self.conv(sample))


class _SameGraph(_Block):  # another class, the same traced graph
    pass


def test_memo_lints_each_distinct_component_once_and_never_hides_a_difference(monkeypatch):
    import zoo.export.lint_models as lm

    calls = []
    real = lm.lint_program
    monkeypatch.setattr(lm, "lint_program", lambda *a, **k: calls.append(1) or real(*a, **k))
    memo, x = lm.LintMemo(), {"sample": torch.randn(1, 4, 8, 8)}
    assert memo.lint("a", _Block(), x, ["qnn", "coreml"]) == []
    assert memo.lint("b", _Block(), x, ["qnn", "coreml"]) == [] and len(calls) == 1  # same class+config: answered
    assert memo.lint("c", _SameGraph(), x, ["qnn", "coreml"]) == [] and len(calls) == 1  # same graph: answered
    assert memo.lint("d", _Block(width=16), x, ["qnn", "coreml"]) == [] and len(calls) == 2  # another width

    patched = _Block()  # the same class and weights shapes, but a forward hook adds a rank-6 view
    patched.register_forward_hook(lambda m, args, out: (out.reshape(1, 2, 4, 2, 4, 8) * 2).reshape(out.shape))
    issues = memo.lint("e", patched, x, ["qnn", "coreml"])
    assert {(i.component, i.target, i.rule) for i in issues if i.severity == "error"} == {("e", "qnn", "rank")}


def test_a_non_npu_ready_tiny_component_is_flagged():
    """The default-run lint fails on a real lint error: sd15-tiny's text encoder with an IsNaN in it."""
    from zoo.export.lint_models import LintMemo

    pipe, memo = zoo.build("sd15-tiny"), LintMemo()
    assert lint(pipe, components=["text_encoder"], memo=memo).ok
    norm = pipe.text_encoder.final_layer_norm
    norm.register_forward_hook(lambda m, args, out: torch.where(torch.isnan(out), 0.0, out))
    report = lint(pipe, components=["text_encoder"], memo=memo)
    assert not report.ok
    assert any(i.rule == "unsupported-op" and "IsNaN" in i.message for i in report.issues), report.format()


@pytest.mark.parametrize("needs_decomposition", [False, True])
def test_onnx_step_skips_only_a_redundant_decomposition(needs_decomposition):
    """The lint's ONNX graph is the one torch.onnx makes with its own decomposition pass."""
    import collections

    import onnx

    from zoo.export.lint import decompose_only_if_needed
    from zoo.export.npu_ready import clean_graph

    class Toy(torch.nn.Module):
        def forward(self, sample):
            y = torch.nn.functional.silu(sample)
            return torch.special.xlogy(y.abs(), y.abs() + 1) if needs_decomposition else y  # xlogy: in its table

    x = {"sample": torch.randn(1, 4, 8, 8)}
    ep = clean_graph(torch.export.export(Toy(), (), kwargs=x, strict=False).run_decompositions({}))
    ops = []
    for shortcut in (False, True):
        with decompose_only_if_needed() if shortcut else contextlib.nullcontext():
            proto = torch.onnx.export(ep, (), kwargs=x, dynamo=True, optimize=True, verbose=False).model_proto
        onnx.checker.check_model(proto)
        ops.append(collections.Counter(n.op_type for n in proto.graph.node))
    assert ops[0] == ops[1] and ops[0]


def test_quick_multi_output_match_gives_the_same_optimised_graph(monkeypatch):
    """zoo.export.onnx_rewriter: onnxscript's optimiser, same graph, fewer full matches (each indexes the graph)."""
    from onnxscript.rewriter import _matcher

    from zoo.export.onnx_rewriter import quick_multi_output_match

    class Sliced(torch.nn.Module):  # Slices: what onnxscript's multi-output rule (SlicesSplit) looks for
        def forward(self, sample):
            a, b = sample[..., 0:4], sample[..., 4:8]
            return torch.cat([torch.nn.functional.silu(a), b * sample[..., 2:6]], dim=3)

    full = []
    original = _matcher.SimplePatternMatcher.match
    monkeypatch.setattr(_matcher.SimplePatternMatcher, "match",
                        lambda self, *a, **k: full.append(self.pattern.has_single_output_node) or original(self, *a, **k))
    x = {"sample": torch.randn(1, 4, 8, 8)}
    graphs, multi = [], []
    for quick in (False, True):
        program = torch.onnx.export(Sliced(), (), kwargs=x, dynamo=True, optimize=False, verbose=False)
        full.clear()
        with quick_multi_output_match() if quick else contextlib.nullcontext():
            program.optimize()
        graphs.append([(n.op_type, list(n.input), list(n.output)) for n in program.model_proto.graph.node])
        multi.append(full.count(False))  # full multi-output matches: each one indexes every node
    assert graphs[0] == graphs[1] and "Slice" in {op for op, _, _ in graphs[0]}
    assert multi[1] < multi[0], multi  # only nodes that can start a match still get the full one (here: none)


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
