"""NPU-readiness lint (`zoo export --check`): what would stop a component from running on a
phone NPU, found before any export job is submitted.

Checks, per component and target (QNN HTP, Core ML):
- static shapes: spec inputs with unknown sizes, tensors whose size depends on the data;
- dynamic control flow: Python branches on tensor values, torch.cond / while_loop;
- ops outside the maintained lists (zoo/export/data/*.txt; QNN on the ONNX graph, Core ML
  on the ATen graph that coremltools reads);
- tensors of rank > 4;
- int64 graph inputs/outputs where the NPU wants int32.
"""
from __future__ import annotations

import collections
import contextlib
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Iterator, Optional, Union

from ..errors import ZooError
from ..specs import ComponentSpec, ModelSpec

TARGETS = ("qnn", "coreml")
MAX_RANK = 4
_CONTROL_FLOW_HOPS = {"cond", "while_loop", "map_impl", "scan", "associative_scan"}
_ONNX_CONTROL_FLOW = {"If", "Loop", "Scan"}
HINTS = {
    "dynamic-shape": "give every input a fixed size in the ComponentSpec and avoid data-dependent sizes "
                     "(boolean masks, nonzero, unique): use torch.where with a fixed-size output instead",
    "dynamic-control-flow": "replace Python branches on tensor values with torch.where, or decide them from "
                            "config (static) values; NPUs compile one static graph",
    "unsupported-op": "rewrite the op with supported ones (see zoo/export/data/*.txt) or keep that part on the CPU",
    "rank": "fold the extra dimension into the batch or channel axis (reshape to 4-D around the op)",
    "int64": "cast to int32 at the model boundary (token ids fit in int32); the NPU has no int64 kernels",
    "export-failed": "make the component traceable by torch.export (no Python-side data inspection)",
}


@dataclass
class Issue:
    component: str
    target: str  # 'qnn', 'coreml' or 'all'
    rule: str
    message: str
    severity: str = "error"
    count: int = 1
    hint: str = ""

    def __post_init__(self) -> None:
        self.hint = self.hint or HINTS.get(self.rule, "")


@dataclass
class LintReport:
    model_id: str
    targets: list[str]
    components: list[str]
    issues: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(i.severity == "error" for i in self.issues)

    def for_component(self, name: str) -> list[Issue]:
        return [i for i in self.issues if i.component == name]

    def to_dict(self) -> dict[str, Any]:
        return {"model_id": self.model_id, "targets": self.targets, "ok": self.ok,
                "components": self.components, "issues": [asdict(i) for i in self.issues]}

    def format(self) -> str:
        lines = [f"NPU-readiness of {self.model_id} for {', '.join(self.targets)}:"]
        for name in self.components:
            issues = self.for_component(name)
            if not issues:
                lines.append(f"  ok    {name}")
                continue
            worst = "FAIL" if any(i.severity == "error" for i in issues) else "warn"
            lines.append(f"  {worst:<5} {name}")
            for i in issues:
                n = f" (x{i.count})" if i.count > 1 else ""
                lines.append(f"        [{i.target}] {i.severity} {i.rule}: {i.message}{n}")
                lines.append(f"            fix: {i.hint}")
        lines.append("ready" if self.ok else "not ready: fix the errors above before exporting")
        return "\n".join(lines)


def lint(model_or_id: Union[str, Any], targets: Iterable[str] = TARGETS, components: Optional[list[str]] = None,
         spec: Optional[ModelSpec] = None, pretrained: bool = False, memo: Any = None) -> LintReport:
    """Lint every component (or ``components``) of a model or registered id for ``targets``.

    Architecture is what matters here, so an id is built with random weights unless
    ``pretrained`` is set. ``memo`` (a ``zoo.export.lint_models.LintMemo``) answers components
    it has already linted in this run (same classes, configs, inputs, or the same traced graph).
    """
    from ..components import component_module, example_inputs, source_and_method
    from ..loading import load, spec_of
    from .npu_ready import npu_ready
    from ..registry import get_registry

    targets = list(targets)
    bad = [t for t in targets if t not in TARGETS]
    if bad:
        raise ZooError(f"unknown lint target(s) {bad}: use {list(TARGETS)}")
    if isinstance(model_or_id, str):
        spec = spec or get_registry().get(model_or_id)
        model = load(spec.id, pretrained=pretrained, progress=False)
    else:
        model, spec = model_or_id, spec or spec_of(model_or_id)
        if spec is None:
            raise ZooError("this model has no zoo spec: load it with zoo.load, or pass spec=")
    comps = [c for c in spec.components if components is None or c.name in components]
    report = LintReport(spec.id, targets, [c.name for c in comps])
    for c in comps:
        static = _spec_shapes(c)
        report.issues += static
        if static:
            continue  # example inputs cannot be made for unknown sizes
        # lint what export writes: the component as npu_ready prepares it
        module, inputs = npu_ready(component_module(model, c), example_inputs(c))
        if memo is None:
            report.issues += lint_module(c.name, module, inputs, targets)
        else:
            report.issues += memo.lint(c.name, module, inputs, targets, method=source_and_method(c)[1])
    return report


def _spec_shapes(comp: ComponentSpec) -> list[Issue]:
    return [Issue(comp.name, "all", "dynamic-shape", f"input {n!r} has no fixed size: {shape}")
            for n, shape in comp.inputs.items() if not shape or any(not isinstance(d, int) or d <= 0 for d in shape)]


def lint_module(name: str, module: Any, inputs: dict[str, Any], targets: Iterable[str] = TARGETS) -> list[Issue]:
    """Lint one ``module(**inputs)`` for ``targets``."""
    ep = export_program(name, module, inputs)
    return ep if isinstance(ep, list) else lint_program(name, ep, inputs, targets)


def export_program(name: str, module: Any, inputs: dict[str, Any]) -> Any:
    """``torch.export`` of ``module(**inputs)``, or the issue that it cannot be captured (a list)."""
    import torch

    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.export.export(module, (), kwargs=inputs, strict=False)
    except Exception as exc:
        first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        data_dependent = "data-dependent" in str(exc) or "DataDependent" in type(exc).__name__
        rule = "dynamic-control-flow" if data_dependent else "export-failed"
        return [Issue(name, "all", rule, f"torch.export cannot capture a static graph: {first[:200]}")]


def lint_program(name: str, ep: Any, inputs: dict[str, Any], targets: Iterable[str] = TARGETS) -> list[Issue]:
    """Lint an exported program: the ATen checks (Core ML and all targets) and, for QNN, its ONNX graph."""
    from .npu_ready import clean_graph

    targets = list(targets)
    ep = clean_graph(ep.run_decompositions({}))  # as the Core ML converter gets it
    issues = _lint_aten(name, ep, targets)
    if "qnn" in targets and not any(i.rule == "dynamic-control-flow" for i in issues):
        issues += _lint_onnx_of(name, ep, inputs)
    return issues


def _lint_aten(name: str, ep: Any, targets: list[str]) -> list[Issue]:
    import torch

    from .oplists import coreml_supports

    found: dict[tuple, int] = collections.Counter()
    for node in ep.graph.nodes:
        if node.op not in ("call_function", "placeholder", "output"):
            continue
        tgt = node.target
        if node.op == "call_function" and isinstance(tgt, torch._ops.HigherOrderOperator):
            if tgt.name() in _CONTROL_FLOW_HOPS:
                found[("all", "dynamic-control-flow", f"{tgt.name()} in the graph")] += 1
            continue
        for t in _tensors(node.meta.get("val")):
            dims = list(t.shape)
            if any(not isinstance(d, int) for d in dims):
                found[("all", "dynamic-shape", f"{_op_name(node)} gives a data-dependent shape {_fmt(dims)}")] += 1
            if len(dims) > MAX_RANK:
                found[("rank", _op_name(node), len(dims))] += 1
        if node.op == "placeholder" and node.name in _user_inputs(ep):
            for t in _tensors(node.meta.get("val")):
                if t.dtype == torch.int64:
                    found[("int64", f"input {node.name!r}")] += 1
        if node.op == "call_function" and "coreml" in targets and isinstance(tgt, torch._ops.OpOverload):
            schema = tgt._schema.name
            if schema.startswith("aten::") and not coreml_supports(schema, tgt._overloadname):
                found[("coreml", "unsupported-op", f"{schema}.{tgt._overloadname} is not converted by coremltools")] += 1
    issues = []
    for key, n in found.items():
        if key[0] == "rank":
            for t in targets:  # ANE and HTP kernels are 4-D; Core ML runs rank 5 off the ANE
                issues.append(Issue(name, t, "rank", f"{key[1]} makes a rank-{key[2]} tensor",
                                    "error" if t == "qnn" else "warning", n))
        elif key[0] == "int64":
            if "qnn" in targets:  # coremltools casts int64 inputs to int32 itself
                issues.append(Issue(name, "qnn", "int64", f"{key[1]} is int64", "warning", n))
        else:
            issues.append(Issue(name, key[0], key[1], key[2], "error", n))
    return issues


def _lint_onnx_of(name: str, ep: Any, inputs: dict[str, Any]) -> list[Issue]:
    import torch

    from .onnx_rewriter import quick_multi_output_match
    from .onnx_translations import translation_table

    try:
        with warnings.catch_warnings(), decompose_only_if_needed(), quick_multi_output_match():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(ep, (), kwargs=inputs, dynamo=True, optimize=True, verbose=False,
                                        custom_translation_table=translation_table())
    except Exception as exc:
        return [Issue(name, "qnn", "export-failed", f"ONNX export failed: {str(exc).splitlines()[0][:200]}")]
    return lint_onnx(program.model_proto, name)


@contextlib.contextmanager
def decompose_only_if_needed() -> Iterator[None]:
    """Within the block, torch.onnx skips its decomposition pass on a program that holds no op its
    table would decompose (the lint hands it the already-decomposed Core ML program): that pass
    retraces the whole graph to return the same ops, a third of the ONNX step's time on a UNet."""
    import torch
    from torch.onnx._internal.exporter import _decomp, _fx_passes

    original = _fx_passes.decompose_with_registry

    def decompose(ep: Any, registry: Any) -> Any:
        table = _decomp.create_onnx_friendly_decomposition_table(set(_decomp.get_onnx_implemented_overloads(registry)))
        graphs = [gm.graph for gm in ep.graph_module.modules() if isinstance(gm, torch.fx.GraphModule)]
        if any(n.op == "call_function" and n.target in table for g in graphs for n in g.nodes):
            return original(ep, registry)
        return ep

    _fx_passes.decompose_with_registry = decompose
    try:
        yield
    finally:
        _fx_passes.decompose_with_registry = original


def lint_onnx(model: Any, name: str = "model") -> list[Issue]:
    """QNN HTP checks on an ONNX model (a ModelProto or a path): ops, control flow, dynamic dims, int64 I/O."""
    import onnx

    from .oplists import load

    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(model), load_external_data=False)
    supported = load("qnn")
    g = model.graph
    issues = []
    ops = collections.Counter((n.domain or "", n.op_type) for n in g.node)
    for (domain, op), n in sorted(ops.items()):
        if op in _ONNX_CONTROL_FLOW:
            issues.append(Issue(name, "qnn", "dynamic-control-flow", f"ONNX {op} node", "error", n))
        elif domain not in ("", "ai.onnx") or op not in supported:
            where = f"{domain}::{op}" if domain else op
            issues.append(Issue(name, "qnn", "unsupported-op", f"{where} is not on the QNN HTP op list", "error", n))
    int64 = onnx.TensorProto.INT64
    for kind, values in (("input", g.input), ("output", g.output)):
        for v in values:
            dims = v.type.tensor_type.shape.dim
            if any(not d.HasField("dim_value") for d in dims):
                issues.append(Issue(name, "qnn", "dynamic-shape", f"graph {kind} {v.name!r} has a symbolic size "
                                    f"{[d.dim_param or '?' if not d.HasField('dim_value') else d.dim_value for d in dims]}"))
            if kind == "output" and v.type.tensor_type.elem_type == int64:
                issues.append(Issue(name, "qnn", "int64", f"graph output {v.name!r} is int64", "warning"))
    return issues


def _tensors(val: Any) -> list[Any]:
    import torch

    if isinstance(val, torch.Tensor):
        return [val]
    if isinstance(val, (list, tuple)):
        return [t for v in val for t in _tensors(v)]
    return []


def _user_inputs(ep: Any) -> set[str]:
    from torch.export.graph_signature import InputKind

    return {s.arg.name for s in ep.graph_signature.input_specs if s.kind == InputKind.USER_INPUT}


def _op_name(node: Any) -> str:
    t = node.target
    return getattr(t, "__name__", None) or str(t) if node.op == "call_function" else f"{node.op} {node.name}"


def _fmt(dims: list) -> str:
    return "[" + ", ".join(str(d) for d in dims) + "]"
