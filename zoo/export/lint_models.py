"""The NPU-readiness lint over many models at once (``lint_models``), each distinct component
linted once, in parallel worker processes.

Many ``-tiny`` models share components (the same tiny VAE, CLIP or UNet config), and one
component costs seconds to minutes (torch.export, the Core ML ATen graph, the optimised ONNX
graph). ``LintMemo`` answers a component it has already linted in this run, at two levels:

- module key: every submodule's class, extra_repr, training flag and config, attention
  processors, hooks and instance-level methods, parameter/buffer shapes (small buffers' values
  too), the component's method and its example inputs. What the traced graph can depend on,
  read without tracing;
- graph key (after torch.export): the exported program's code (subgraphs too), every node's
  shape/dtype, its signature and small constants: the same graph gets the same ATen and ONNX
  checks whatever config produced it.

Issues are stored without a component name and relabelled per model, so every model still gets
its own full report. Nothing is cached across runs.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from typing import Any, Iterable, Optional

from .lint import TARGETS, Issue, LintReport, _spec_shapes, export_program, lint, lint_program

SMALL = 4096  # tensors up to this many elements are hashed by value as well as by shape


class LintMemo:
    def __init__(self) -> None:
        self.by_module: dict[str, list[Issue]] = {}
        self.by_graph: dict[str, list[Issue]] = {}

    def lint(self, name: str, module: Any, inputs: dict[str, Any], targets: Iterable[str], method: str = "") -> list[Issue]:
        targets = list(targets)
        key = module_key(module, inputs, targets, method)
        if key not in self.by_module:
            self.by_module[key] = self._fresh(module, inputs, targets)
        return [replace(i, component=name) for i in self.by_module[key]]

    def _fresh(self, module: Any, inputs: dict[str, Any], targets: list[str]) -> list[Issue]:
        ep = export_program("", module, inputs)
        if isinstance(ep, list):
            return ep
        key = graph_key(ep, inputs, targets)
        if key not in self.by_graph:
            self.by_graph[key] = lint_program("", ep, inputs, targets)
        return self.by_graph[key]


def _digest(parts: Iterable[str]) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()


def _tensor_text(t: Any) -> str:
    text = f"{tuple(t.shape)}:{t.dtype}"
    if t.numel() <= SMALL and not t.is_meta:
        text += ":" + hashlib.sha256(t.detach().cpu().contiguous().numpy().tobytes()).hexdigest()
    return text


def _inputs_text(inputs: dict[str, Any]) -> str:
    return repr({k: (tuple(v.shape), str(v.dtype)) if hasattr(v, "shape") else repr(v) for k, v in inputs.items()})


def _config_text(cfg: Any) -> str:
    d = cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg) if hasattr(cfg, "keys") else {"repr": repr(cfg)}
    impl = getattr(cfg, "_attn_implementation", None)  # transformers keeps it off to_dict()
    return repr(sorted((str(k), repr(v)) for k, v in d.items())) + f"|attn={impl}"


def _callable_name(f: Any) -> str:
    f = getattr(f, "__func__", f)
    return f"{getattr(f, '__module__', '')}.{getattr(f, '__qualname__', type(f).__qualname__)}"


def module_key(module: Any, inputs: dict[str, Any], targets: Iterable[str], method: str = "") -> str:
    """What ``lint_module(module, inputs)`` can depend on, read off the module without tracing it."""
    import torch

    parts = [repr(list(targets)), method, _inputs_text(inputs)]
    for path, m in module.named_modules():
        parts.append(f"{path}|{type(m).__module__}.{type(m).__qualname__}|{m.extra_repr()}|{m.training}")
        cfg = getattr(m, "config", None)
        if cfg is not None and not isinstance(cfg, torch.nn.Module):
            parts.append(_config_text(cfg))
        for attr, value in sorted(vars(m).items()):  # processors, patched forward, activation functions
            if attr.startswith("_") or isinstance(value, torch.nn.Module) or not callable(value):
                continue
            parts.append(f"{attr}={_callable_name(value)}:{type(value).__qualname__}")
        for hooks in (m._forward_pre_hooks, m._forward_hooks):
            parts.extend(_callable_name(h) for h in hooks.values())
        parts.extend(f"{n}:{tuple(t.shape)}:{t.dtype}" for n, t in m.named_parameters(recurse=False))  # values: weights
        parts.extend(f"{n}:{_tensor_text(t)}" for n, t in m.named_buffers(recurse=False))  # e.g. position ids
    hooks = torch.nn.modules.module  # global hooks apply to every module
    parts.extend(_callable_name(h) for d in (hooks._global_forward_pre_hooks, hooks._global_forward_hooks)
                 for h in d.values())
    return _digest(parts)


def graph_key(ep: Any, inputs: dict[str, Any], targets: Iterable[str]) -> str:
    """The exported program as the lint reads it: code, shapes and dtypes, signature, small constants."""
    import torch

    parts = [repr(list(targets)), _inputs_text(inputs)]
    for path, gm in ep.graph_module.named_modules():
        if isinstance(gm, torch.fx.GraphModule):
            parts.append(f"{path}:{gm.code}")
            for n in gm.graph.nodes:
                val = n.meta.get("val")
                vals = val if isinstance(val, (list, tuple)) else [val]
                parts.append(n.name + ":" + ",".join(f"{tuple(v.shape)}:{v.dtype}" if isinstance(v, torch.Tensor)
                                                     else type(v).__name__ for v in vals))
    parts.append(repr([(str(s.kind), s.arg.name, s.target) for s in ep.graph_signature.input_specs]))
    parts.append(repr([(str(s.kind), getattr(s.arg, "name", None), s.target) for s in ep.graph_signature.output_specs]))
    for name, t in sorted(ep.constants.items()):
        parts.append(f"{name}:{_tensor_text(t)}" if isinstance(t, torch.Tensor) else f"{name}:{type(t).__name__}")
    return _digest(parts)


_WORKER_MEMO = LintMemo()  # a worker process's own: the graph level across the components it lints
_WORKER_MODELS: dict[str, Any] = {}


def _warm_up() -> None:
    import torch  # noqa: F401

    from ..registry import get_registry

    get_registry().list()


def _lint_in_worker(model_id: str, component: str, targets: list[str]) -> list[Issue]:
    """One component of a registered model, in a worker process."""
    from ..loading import load
    from ..registry import get_registry

    if model_id not in _WORKER_MODELS:
        _WORKER_MODELS.clear()  # one model at a time: the biggest components come first, from many models
        _WORKER_MODELS[model_id] = load(model_id, pretrained=False, progress=False)
    spec = get_registry().get(model_id)
    return lint(_WORKER_MODELS[model_id], targets, components=[component], spec=spec, memo=_WORKER_MEMO).issues


def lint_models(ids: Iterable[str], targets: Iterable[str] = TARGETS, workers: Optional[int] = None,
                progress: bool = True) -> dict[str, LintReport]:
    """``{id: lint(id)}`` for registered ids, each distinct component linted once.

    The models are built here (random weights) to find the distinct components, which
    ``workers`` processes then lint, the biggest first (default: the CPU count, at most 2; 1 lints
    here, in order).
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from tqdm.auto import tqdm

    from ..components import component_module, example_inputs, source_and_method
    from ..loading import load
    from ..registry import get_registry
    from .npu_ready import npu_ready

    ids, targets = list(ids), list(targets)
    workers = workers or min(2, os.cpu_count() or 1)
    memo = LintMemo()
    pool = None
    if workers > 1:  # spawn: torch's thread pools do not survive fork
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        for _ in range(workers):
            pool.submit(_warm_up)  # the workers import torch and the plugins while the models are built here
    todo: dict[str, tuple] = {}  # module key -> (model id, component, size)
    plan: dict[str, list] = {}  # id -> [(component, module key or its static issues)]
    try:
        for mid in tqdm(ids, desc="NPU lint: components", disable=not progress):
            spec = get_registry().get(mid)
            model = load(mid, pretrained=False, progress=False)
            plan[mid] = []
            for c in spec.components:
                static = _spec_shapes(c)
                if static:
                    plan[mid].append((c.name, static))
                    continue
                module, inputs = npu_ready(component_module(model, c), example_inputs(c))
                key = module_key(module, inputs, targets, source_and_method(c)[1])
                plan[mid].append((c.name, key))
                if pool is None:
                    memo.lint(c.name, module, inputs, targets, source_and_method(c)[1])
                else:
                    todo.setdefault(key, (mid, c.name, sum(1 for _ in module.modules())))
        if pool is not None:  # biggest first, so that the workers finish together
            order = sorted(todo.items(), key=lambda kv: -kv[1][2])
            futures = {key: pool.submit(_lint_in_worker, mid, comp, targets) for key, (mid, comp, _) in order}
            for key, f in tqdm(futures.items(), desc="NPU lint: distinct components", disable=not progress):
                memo.by_module[key] = f.result()
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    reports = {}
    for mid, entries in plan.items():
        report = reports[mid] = LintReport(mid, targets, [name for name, _ in entries])
        for name, found in entries:
            report.issues += found if isinstance(found, list) else [replace(i, component=name) for i in memo.by_module[found]]
    return reports
