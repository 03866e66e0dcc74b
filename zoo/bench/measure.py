"""Measuring one model: params and MACs of every component from a meta-device build, and CPU
latency of the components that fit the budget, timed in rounds (A B A B) together with the
teacher's denoiser so that the ratio to the teacher holds on a noisy machine."""
from __future__ import annotations

import gc
import json
from dataclasses import dataclass
from typing import Any, Optional

from ..specs import ComponentSpec, ModelSpec
from .config import BenchConfig
from .rows import Row, backbone_name, notes_by_component, reported_by_component


@dataclass
class Counted:
    """A model's rows after counting, and the downscale factor of each component to time."""

    spec: ModelSpec
    rows: dict[str, Row]
    plans: dict[str, int]


def count_model(spec: ModelSpec, cfg: BenchConfig, cache: dict[str, Any]) -> Counted:
    """Params and MACs of each component (meta device); which components to time, at what size.
    ``cache`` (shared across models) reuses the counts of identical components."""
    from ..components import component_module, example_inputs
    from ..evaluate.macs import profile_module
    from ..loading import build

    reported, notes = reported_by_component(spec), notes_by_component(spec)
    bb = backbone_name(spec)
    rows = {c.name: Row(spec.id, c.name, spec.task, shapes=dict(c.inputs), backbone=c.name == bb,
                        resolution=spec.resolution, reported=reported.get(c.name, {}),
                        reported_notes=notes.get(c.name, [])) for c in spec.components}
    if not rows:
        return Counted(spec, {"-": Row(spec.id, "-", spec.task, error="spec declares no components")}, {})
    try:
        meta = build(spec, device="meta")
    except Exception as exc:
        for r in rows.values():
            r.error = f"meta build failed: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
        return Counted(spec, rows, {})
    plans: dict[str, int] = {}
    for comp in spec.components:
        row = rows[comp.name]
        try:
            module = component_module(meta, comp)
            key = "count:" + arch_key(module, comp)
            if key not in cache:
                params, mc = profile_module(module, example_inputs(comp))
                cache[key] = (params, mc.total, mc.attention)
            row.params, row.macs, row.attention_macs = cache[key]
        except Exception as exc:
            row.error = f"count failed: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
            continue
        if not cfg.latency:
            continue
        if row.params / 1e6 > cfg.max_params_m:
            row.latency_note = f"not timed: {row.params / 1e6:.0f}M params > {cfg.max_params_m:.0f}M limit"
            continue
        factor, why = _choose_factor(comp, spec, row.macs, cfg)
        if factor is None:
            row.latency_note = f"not timed: {why}"
        else:
            plans[comp.name] = factor
    del meta
    return Counted(spec, rows, plans)


@dataclass
class TeacherCall:
    """The teacher's denoiser, materialised once and timed beside each of its students."""

    spec: ModelSpec
    component: ComponentSpec
    module: Any

    @property
    def params_m(self) -> float:
        return sum(p.numel() for p in self.module.parameters()) / 1e6

    def inputs_at(self, resolution: int) -> Optional[dict[str, Any]]:
        """Inputs for the teacher's output resolution ``resolution`` px (None if it does not divide)."""
        from ..components import example_inputs
        from ..evaluate.cost import scale_shapes

        if resolution <= 0 or self.spec.resolution % resolution:
            return None
        factor = self.spec.resolution // resolution
        shapes = [s for s in self.component.inputs.values() if len(s) == 4]
        if any(s[-1] % factor or s[-2] % factor for s in shapes):
            return None
        return example_inputs(scale_shapes(self.component, factor))


def materialise_teacher(counted: Counted) -> Optional[TeacherCall]:
    """The teacher's denoiser with random weights, if its size allows timing it."""
    from ..components import component_module
    from ..loading import build

    bb = backbone_name(counted.spec)
    if bb is None or bb not in counted.plans or (counted.rows[bb].params or 0) * 4 > 0.4 * _available_bytes():
        return None
    model = build(counted.spec, empty=True)
    comp = counted.spec.component(bb)
    module = component_module(model, comp)
    _materialise(module)
    return TeacherCall(counted.spec, comp, module)


def time_model(counted: Counted, cfg: BenchConfig, cache: dict[str, Any], teacher: Optional[TeacherCall] = None) -> None:
    """Time the planned components of one model in rounds, with the teacher's denoiser (at the
    student's output resolution) in every round; fill the rows' latency and teacher ratio.
    Components too large to hold together are timed in chunks, each with the teacher."""
    from ..loading import build

    if not counted.plans:
        return

    spec, rows = counted.spec, counted.rows
    model = build(spec, empty=True)  # parameters on meta, buffers real: materialise what is timed
    teacher_m = teacher.params_m if teacher is not None else 0.0
    for chunk in _chunks(counted, cfg.max_params_m - teacher_m):
        size = sum((rows[n].params or 0) / 1e6 for n in chunk)
        # the teacher rides along only if both fit in the memory free now (other processes use it too)
        fits = teacher is not None and (size + teacher_m) * 4e6 < 0.6 * _available_bytes()
        if teacher is not None and not fits:
            bb = backbone_name(spec)
            if bb in chunk:
                rows[bb].latency_note = "; ".join(x for x in [rows[bb].latency_note, "no teacher ratio: not enough "
                                                             "free memory to hold both"] if x)
        _time_chunk(spec, rows, chunk, model, cfg, cache, teacher if fits else None)
    del model
    gc.collect()


def _available_bytes() -> float:
    try:
        import psutil

        return float(psutil.virtual_memory().available)
    except ImportError:
        return float("inf")


def _first_call_fails(module: Any, inputs: dict[str, Any]) -> str:
    """'' if ``module(**inputs)`` runs, else the error in one line."""
    import torch

    try:
        with torch.inference_mode():
            module(**inputs)
    except Exception as exc:
        return f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:120]}"
    return ""


def _chunks(counted: Counted, budget_m: float) -> list[dict[str, int]]:
    """Planned components in groups whose weights fit ``budget_m`` M params together (each group
    timed in rounds); a component larger than the budget is a group of its own."""
    out: list[dict[str, int]] = []
    size = 0.0
    for name, factor in counted.plans.items():
        p = (counted.rows[name].params or 0) / 1e6
        if not out or size + p > budget_m:
            out.append({})
            size = 0.0
        out[-1][name] = factor
        size += p
    return out


def _time_chunk(spec: ModelSpec, rows: dict[str, Row], plans: dict[str, int], model: Any, cfg: BenchConfig,
                cache: dict[str, Any], teacher: Optional[TeacherCall]) -> None:
    from ..components import component_module, example_inputs
    from ..evaluate.cost import scale_shapes
    from ..evaluate.latency import torch_latency_interleaved
    from ..evaluate.macs import count_macs

    calls: dict[str, tuple[Any, dict[str, Any]]] = {}
    keys: dict[str, str] = {}
    for name, factor in plans.items():
        row = rows[name]
        comp = scale_shapes(spec.component(name), factor)
        row.latency_res = spec.resolution // factor
        if factor > 1:
            row.latency_note = f"at 1/{factor} resolution ({row.latency_res}px)"
        try:
            module = component_module(model, comp)
            key = "time:" + arch_key(module, comp)
            if key in cache and not row.backbone:  # a shared text encoder or VAE: timed once
                first, done = cache[key]
                row.latency_ms, row.latency_iqr_ms, row.latency_shapes, row.latency_macs = done
                row.latency_note = "; ".join(x for x in [row.latency_note, f"timing of {first}"] if x)
                continue
            _materialise(module)
            inputs = example_inputs(comp)
            calls[name], keys[name] = (module, inputs), key
            row.latency_shapes = {k: list(v) for k, v in comp.inputs.items()}
            row.latency_macs = row.macs if factor == 1 else count_macs(module, inputs, module=module, mode="fake").total
        except Exception as exc:  # report, keep benchmarking the rest
            row.latency_note = f"latency failed: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
    bb = backbone_name(spec)
    teacher_inputs = None
    if teacher is not None and bb in calls:
        teacher_inputs = teacher.inputs_at(rows[bb].latency_res or 0)
        if teacher_inputs is not None:
            calls["__teacher__"] = (teacher.module, teacher_inputs)
        else:
            rows[bb].latency_note = "; ".join(x for x in [rows[bb].latency_note, f"no ratio: {teacher.spec.id} cannot "
                                                         f"run at {rows[bb].latency_res}px"] if x)
    for name in list(calls):
        failure = _first_call_fails(*calls[name])  # one broken call must not void the others' rounds
        if failure and name == "__teacher__":
            calls.pop(name)
            rows[bb].latency_note = "; ".join(x for x in [rows[bb].latency_note, f"no teacher ratio: {failure}"] if x)
        elif failure:
            rows[name].latency_note = f"latency failed: {failure}"
            _dematerialise(calls.pop(name)[0])
    if len(calls) == 1 and "__teacher__" in calls:
        calls.clear()
    if calls:
        try:
            stats = torch_latency_interleaved(calls, cfg.warmup, cfg.repeats, progress=f"{spec.id} (interleaved)")
        except Exception as exc:
            for name in calls:
                if name in rows:
                    rows[name].latency_note = f"latency failed: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
            stats = {}
        for name, st in stats.items():
            if name == "__teacher__":
                continue
            row = rows[name]
            row.latency_ms, row.latency_iqr_ms = st.median_ms, st.iqr_ms
            cache[keys[name]] = (f"{spec.id}/{name}", (row.latency_ms, row.latency_iqr_ms, row.latency_shapes,
                                                     row.latency_macs))
        if "__teacher__" in stats and bb in stats:
            rows[bb].teacher = teacher.spec.id
            rows[bb].teacher_ratio = stats[bb].median_ms / stats["__teacher__"].median_ms
    for name, (module, _) in calls.items():
        if name != "__teacher__":
            _dematerialise(module)  # free it before the next chunk or model
    del calls
    gc.collect()


def _choose_factor(comp: ComponentSpec, spec: ModelSpec, macs: int, cfg: BenchConfig) -> tuple[Optional[int], str]:
    """Downscale factor to time ``comp`` at (None: do not time it) and why."""
    from ..evaluate.cost import has_spatial_inputs

    spatial = has_spatial_inputs(comp)
    if cfg.latency_res:
        if not spatial:
            return 1, ""
        if spec.resolution % cfg.latency_res:
            return None, f"{spec.resolution}px does not divide by --latency-res {cfg.latency_res}"
        return spec.resolution // cfg.latency_res, ""
    if macs / 1e9 <= cfg.budget_gmacs:
        return 1, ""
    if not spatial:
        return None, f"{macs / 1e9:.0f} GMACs > {cfg.budget_gmacs:g} GMAC quick budget"
    f = 1
    # MACs fall at least as fast as pixel count (attention falls faster): area is a safe estimate.
    while macs / (f * f) / 1e9 > cfg.budget_gmacs:
        f *= 2
    smallest = min(min(s[-2:]) for s in comp.inputs.values() if len(s) == 4 and min(s[-2:]) >= 8)
    if smallest // f < 2 or any(len(s) == 4 and min(s[-2:]) >= 8 and (s[-1] % f or s[-2] % f) for s in comp.inputs.values()):
        return None, f"{macs / 1e9:.0f} GMACs > {cfg.budget_gmacs:g} GMAC budget even at a reduced size"
    return f, ""


def _materialise(module: Any, seed: int = 0) -> None:
    """Give parameters left on meta (an empty build) random values: values do not change latency."""
    import torch
    from accelerate.utils import set_module_tensor_to_device

    # One random block tiled over every weight: drawing ~1e9 normals would take longer than timing.
    block = torch.randn(1 << 20, generator=torch.Generator().manual_seed(seed)) * 0.02
    for name, p in list(module.named_parameters()):
        if p.device.type == "meta":
            n = p.numel()
            value = block.repeat(-(-n // block.numel()))[:n].view(p.shape) if p.dim() > 1 else torch.full(p.shape, 0.5)
            set_module_tensor_to_device(module, name, "cpu", value=value.clone())


def _dematerialise(module: Any) -> None:
    from accelerate.utils import set_module_tensor_to_device

    for name, _ in list(module.named_parameters()):
        set_module_tensor_to_device(module, name, "meta")


def arch_key(module: Any, comp: ComponentSpec) -> str:
    """Identifies a component's architecture and call: models that share a text encoder or VAE
    (same class, config, layer shapes, method and input shapes) are measured once."""
    import hashlib

    from ..components import source_and_method

    inner = getattr(module, "inner", module)
    conf = getattr(inner, "config", None)
    conf = conf.to_dict() if hasattr(conf, "to_dict") else dict(conf) if isinstance(conf, dict) else {}
    conf = {k: v for k, v in conf.items() if "name_or_path" not in k and "version" not in k and "commit" not in k}
    text = json.dumps([type(inner).__qualname__, source_and_method(comp)[1], conf, comp.inputs, repr(inner)],
                      sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()
