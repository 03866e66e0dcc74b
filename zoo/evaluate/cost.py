"""The generic cost suite: parameters, MACs (attention included), latency and peak memory of
each component of a model, at the static input shapes its spec declares."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from ..errors import ZooError
from ..specs import ComponentSpec, ModelSpec


@dataclass
class ComponentCost:
    name: str
    params: int
    macs: int
    attention_macs: int
    shapes: dict[str, list[int]]
    latency: dict[str, Any] = field(default_factory=dict)  # backend -> LatencyStats
    peak_memory_mb: Optional[float] = None
    latency_shapes: Optional[dict[str, list[int]]] = None  # where timed at other shapes than counted


def is_spatial(shape: list[int]) -> bool:
    """A BCHW image or latent input (its last two dims scale with the resolution)."""
    return len(shape) == 4 and shape[-1] >= 8 and shape[-2] >= 8


def scale_shapes(comp: ComponentSpec, factor: int) -> ComponentSpec:
    """The component at a resolution ``factor`` times smaller (every spatial input alike)."""
    if factor == 1:
        return comp
    inputs = {}
    for k, shape in comp.inputs.items():
        if is_spatial(shape):
            if shape[-1] % factor or shape[-2] % factor:
                raise ZooError(f"{comp.name}: input {k}{shape} does not divide by {factor}")
            shape = [*shape[:-2], shape[-2] // factor, shape[-1] // factor]
        inputs[k] = shape
    return comp.model_copy(update={"inputs": inputs})


def has_spatial_inputs(comp: ComponentSpec) -> bool:
    return any(is_spatial(s) for s in comp.inputs.values())


def measure_runtime(module: Any, inputs: dict[str, Any], backends: Iterable[str] = ("torch",), warmup: int = 2,
                    repeats: int = 10, memory: bool = True, label: str = "") -> tuple[dict[str, Any], Optional[float]]:
    """({backend: LatencyStats}, peak memory in MiB or None) of ``module(**inputs)``."""
    from .latency import onnxruntime_latency, torch_latency, torch_peak_memory_mb

    latency = {}
    for backend in backends:
        if backend == "torch":
            latency[backend] = torch_latency(module, inputs, warmup, repeats, progress=f"{label} torch")
        elif backend == "onnxruntime":
            latency[backend] = onnxruntime_latency(module, inputs, warmup, repeats, progress=f"{label} onnxruntime")
        else:
            raise ZooError(f"unknown latency backend {backend!r}: use torch or onnxruntime")
    return latency, (torch_peak_memory_mb(module, inputs) if memory else None)


def component_cost(module: Any, inputs: dict[str, Any], name: str = "", latency_backends: Iterable[str] = ("torch",),
                   warmup: int = 2, repeats: int = 10, memory: bool = True,
                   latency_inputs: Optional[dict[str, Any]] = None) -> ComponentCost:
    """Params and MACs of ``module(**inputs)``; latency and peak memory too (at ``latency_inputs``
    if given, e.g. a reduced resolution) unless the module is on meta or no backend is asked."""
    from .macs import profile_module

    params, macs = profile_module(module, inputs)
    cost = ComponentCost(name, params, macs.total, macs.attention, {k: list(v.shape) for k, v in inputs.items()})
    p = next(iter(module.parameters()), None)
    backends = list(latency_backends)
    if not backends or (p is not None and p.device.type == "meta"):
        return cost
    run_inputs = latency_inputs if latency_inputs is not None else inputs
    cost.latency, cost.peak_memory_mb = measure_runtime(module, run_inputs, backends, warmup, repeats, memory, name)
    if latency_inputs is not None:
        cost.latency_shapes = {k: list(v.shape) for k, v in latency_inputs.items()}
    return cost


def _shape_str(shapes: dict[str, list[int]]) -> dict[str, str]:
    return {k: "x".join(map(str, v)) for k, v in shapes.items()}


def cost_records(spec: ModelSpec, costs: Iterable[ComponentCost], device: str, **common: Any) -> list[dict[str, Any]]:
    from .records import machine_description, make_record

    out = []
    shape_dev = machine_description("meta")
    for c in costs:
        base = dict(component=c.name, dataset="synthetic-inputs", task=spec.pipeline_tag, **common)
        shapes = _shape_str(c.shapes)
        run_shapes = _shape_str(c.latency_shapes or c.shapes)
        out.append(make_record(spec.id, "cost", "params", c.params, unit="count", backend="count", device=shape_dev, **base))
        for metric, v in (("macs", c.macs), ("macs_no_attention", c.macs - c.attention_macs)):
            out.append(make_record(spec.id, "cost", metric, v, unit="count", backend="count", device=shape_dev,
                                   settings={"inputs": shapes}, **base))
        for backend, st in c.latency.items():
            out.append(make_record(spec.id, "cost", "latency_ms", st.median_ms, unit="ms", backend=backend, device=device,
                                   settings={"inputs": run_shapes, "warmup": st.warmup, "repeats": st.repeats},
                                   spread={"p25_ms": st.p25_ms, "p75_ms": st.p75_ms, "min_ms": st.min_ms, "max_ms": st.max_ms},
                                   **base))
        if c.peak_memory_mb is not None:
            out.append(make_record(spec.id, "cost", "peak_memory_mb", c.peak_memory_mb, unit="MiB", backend="torch",
                                   device=device, settings={"inputs": run_shapes}, **base))
    return out


def cost_suite(model: Any, spec: ModelSpec, config: dict[str, Any]) -> list[dict[str, Any]]:
    """Options (``config``): components (names), latency (bool, default True), backends
    (['torch'] default; 'onnxruntime'), warmup (2), repeats (10), memory (True),
    downscale (int: time at a resolution this many times smaller), progress (True)."""
    from tqdm.auto import tqdm

    from ..components import component_module, example_inputs
    from .latency import _device_of
    from .records import machine_description

    wanted = config.get("components")
    comps = [c for c in spec.components if not wanted or c.name in wanted]
    if not comps:
        raise ZooError(f"{spec.id} has no components to measure" + (f" named {wanted}" if wanted else ""))
    backends = list(config.get("backends") or ["torch"]) if config.get("latency", True) else []
    factor = int(config.get("downscale", 1))
    records: list[dict[str, Any]] = []
    for comp in tqdm(comps, desc=f"cost {spec.id}", unit="component", disable=not config.get("progress", True)):
        module = component_module(model, comp)
        device = _device_of(module)
        small = example_inputs(scale_shapes(comp, factor), device=device) if factor > 1 and has_spatial_inputs(comp) else None
        cost = component_cost(module, example_inputs(comp, device=device), comp.name, backends,
                              int(config.get("warmup", 2)), int(config.get("repeats", 10)),
                              bool(config.get("memory", True)), latency_inputs=small)
        records.extend(cost_records(spec, [cost], machine_description(device)))
    return records
