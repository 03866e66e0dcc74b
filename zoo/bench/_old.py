"""`zoo bench`: cost of every registered full-size model, beside the papers' figures.

For each model: a meta-device build gives every component's parameters and MACs (attention
included) without allocating weights; components that fit the time/memory budget are then
materialised with random weights and timed on this machine's CPU (median and interquartile
range after warm-up), at full resolution or a stated reduced one. Writes ``bench.md``,
``bench.json``, ``records.json`` and ``pareto.png`` to the output folder. Needs no weights.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

from .errors import ZooError
from .specs import ComponentSpec, ModelSpec


@dataclass
class BenchConfig:
    pattern: str = "*"
    quick: bool = False
    latency: bool = True
    latency_res: Optional[int] = None  # output resolution (pixels) to time at; None: full, or auto in quick
    include_tiny: bool = False
    budget_gmacs: Optional[float] = None  # quick: time each component at the largest size under this
    max_params_m: Optional[float] = None  # do not materialise components larger than this
    warmup: Optional[int] = None
    repeats: Optional[int] = None
    threads: Optional[int] = None  # torch CPU threads for timing (default: torch's choice)
    progress: bool = True

    def __post_init__(self) -> None:
        if self.budget_gmacs is None:
            self.budget_gmacs = 10.0 if self.quick else math.inf
        if self.max_params_m is None:
            self.max_params_m = 1000.0 if self.quick else _ram_params_m()
        if self.warmup is None:
            self.warmup = 1 if self.quick else 2
        if self.repeats is None:
            self.repeats = 3 if self.quick else 5


def _ram_params_m() -> float:
    """Largest component (M float32 params) to materialise: a third of the available memory."""
    try:
        import psutil

        return psutil.virtual_memory().available / 3 / 4 / 1e6
    except ImportError:
        return 2000.0


@dataclass
class Row:
    model_id: str
    component: str
    task: str
    params: Optional[int] = None
    macs: Optional[int] = None
    attention_macs: Optional[int] = None
    shapes: dict[str, list[int]] = field(default_factory=dict)
    latency_ms: Optional[float] = None
    latency_iqr_ms: Optional[float] = None
    latency_shapes: dict[str, list[int]] = field(default_factory=dict)
    latency_macs: Optional[int] = None
    latency_note: str = ""
    backbone: bool = False
    reported: dict[str, float] = field(default_factory=dict)  # metric kind -> paper figure
    error: str = ""

    def ratio(self, kind: str) -> Optional[float]:
        measured = {"params_m": self.params and self.params / 1e6, "gmacs": self.macs and self.macs / 1e9,
                    "gflops": self.macs and self.macs / 1e9}.get(kind)
        ref = self.reported.get(kind)
        return measured / ref if measured and ref else None


# -- the papers' figures ----------------------------------------------------------------------------
_KINDS = {"params_m": 1.0, "params_b": 1000.0, "gmacs": 1.0, "tmacs": 1000.0, "gflops": 1.0}


def backbone_name(spec: ModelSpec) -> Optional[str]:
    """The denoiser: the component taking a timestep (else the first)."""
    for c in spec.components:
        if any("timestep" in k for k in c.inputs):
            return c.name
    return spec.components[0].name if spec.components else None


def reported_by_component(spec: ModelSpec) -> dict[str, dict[str, float]]:
    """spec.reported split per component: 'unet_params_m' -> {'unet': {'params_m': ...}};
    keys without a component prefix ('npu_latency_ms') go to the backbone. params_b and tmacs
    are converted to params_m and gmacs."""
    names = sorted((c.name for c in spec.components), key=len, reverse=True)
    out: dict[str, dict[str, float]] = {}
    for key, value in spec.reported.items():
        comp = next((n for n in names if key.startswith(n + "_")), None)
        kind = key[len(comp) + 1:] if comp else key
        comp = comp or backbone_name(spec) or ""
        if kind in _KINDS and kind not in {"params_m", "gmacs", "gflops"}:
            kind, value = ("params_m" if kind.startswith("params") else "gmacs"), value * _KINDS[kind]
        out.setdefault(comp, {})[kind] = value
    return out


# -- measuring ---------------------------------------------------------------------------------------
def _choose_factor(comp: ComponentSpec, spec: ModelSpec, macs: int, cfg: BenchConfig) -> tuple[Optional[int], str]:
    """Downscale factor to time ``comp`` at (None: do not time it) and why."""
    from .evaluate.cost import has_spatial_inputs

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

    from .components import source_and_method

    inner = getattr(module, "inner", module)
    conf = getattr(inner, "config", None)
    conf = conf.to_dict() if hasattr(conf, "to_dict") else dict(conf) if isinstance(conf, dict) else {}
    conf = {k: v for k, v in conf.items() if "name_or_path" not in k and "version" not in k and "commit" not in k}
    text = json.dumps([type(inner).__qualname__, source_and_method(comp)[1], conf, comp.inputs, repr(inner)],
                      sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()


def _time_components(spec: ModelSpec, rows: dict[str, Row], plans: dict[str, int], cfg: BenchConfig,
                     cache: dict[str, Any]) -> None:
    import gc

    from .components import component_module, example_inputs
    from .evaluate.cost import measure_runtime, scale_shapes
    from .evaluate.macs import count_macs
    from .loading import build

    model = build(spec, empty=True)  # parameters on meta, buffers real: materialise one component at a time
    for name, factor in plans.items():
        row = rows[name]
        comp = scale_shapes(spec.component(name), factor)
        try:
            module = component_module(model, comp)
            key = "time:" + arch_key(module, comp)
            if key in cache:
                first, done = cache[key]
                row.latency_ms, row.latency_iqr_ms, row.latency_shapes, row.latency_macs = done
                row.latency_note = (f"at 1/{factor} resolution ({spec.resolution // factor}px); " if factor > 1 else "") + f"timing of {first}"
                continue
            _materialise(module)
            inputs = example_inputs(comp)
            lat, _ = measure_runtime(module, inputs, ["torch"], cfg.warmup, cfg.repeats, memory=False,
                                     label=f"{spec.id}/{name}")
            st = lat["torch"]
            row.latency_ms, row.latency_iqr_ms = st.median_ms, st.iqr_ms
            row.latency_shapes = {k: list(v) for k, v in comp.inputs.items()}
            row.latency_macs = row.macs if factor == 1 else count_macs(module, inputs, module=module, mode="fake").total
            if factor > 1:
                row.latency_note = f"at 1/{factor} resolution ({spec.resolution // factor}px)"
            cache[key] = (f"{spec.id}/{name}", (row.latency_ms, row.latency_iqr_ms, row.latency_shapes, row.latency_macs))
            _dematerialise(module)  # free it before the next component
        except Exception as exc:  # report, keep benchmarking the rest
            row.latency_note = f"latency failed: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
        gc.collect()
    del model
    gc.collect()


def bench_model(spec: ModelSpec, cfg: BenchConfig, cache: Optional[dict[str, Any]] = None) -> list[Row]:
    """Rows for each component of ``spec``. ``cache`` (shared across models) reuses the counts and
    timings of identical components."""
    from .components import component_module, example_inputs
    from .evaluate.macs import profile_module
    from .loading import build

    reported = reported_by_component(spec)
    bb = backbone_name(spec)
    rows = {c.name: Row(spec.id, c.name, spec.task, shapes=dict(c.inputs), backbone=c.name == bb,
                        reported=reported.get(c.name, {})) for c in spec.components}
    if not rows:
        return [Row(spec.id, "-", spec.task, error="spec declares no components")]
    try:
        meta = build(spec, device="meta")
    except Exception as exc:
        for r in rows.values():
            r.error = f"meta build failed: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
        return list(rows.values())
    cache = {} if cache is None else cache
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
    if plans:
        _time_components(spec, rows, plans, cfg, cache)
    return list(rows.values())


def select_specs(cfg: BenchConfig) -> list[ModelSpec]:
    from .registry import get_registry

    specs = get_registry().list(cfg.pattern)
    if not cfg.include_tiny:
        specs = [s for s in specs if not s.id.split(".")[0].endswith("-tiny") and "tiny" not in s.tags]
    return specs


def run_bench(cfg: BenchConfig, out: Path) -> list[Row]:
    import torch
    from tqdm.auto import tqdm

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    specs = select_specs(cfg)
    if not specs:
        raise ZooError(f"no model matches {cfg.pattern!r}" + ("" if cfg.include_tiny else " (tiny variants are skipped: --include-tiny)"))
    rows: list[Row] = []
    t0 = time.perf_counter()
    cache: dict[str, Any] = {}
    bar = tqdm(specs, desc="bench", unit="model", disable=not cfg.progress)
    for spec in bar:
        bar.set_postfix_str(spec.id)
        rows.extend(bench_model(spec, cfg, cache))
    elapsed = time.perf_counter() - t0
    write_outputs(rows, cfg, Path(out), elapsed)
    return rows


# -- writing -------------------------------------------------------------------------------------------
def _fmt(v: Optional[float], digits: int = 2) -> str:
    if v is None:
        return "-"
    return f"{v:,.{digits}f}" if abs(v) >= 1 or v == 0 else f"{v:.3g}"


def _ratio(v: Optional[float]) -> str:
    return "-" if v is None else f"{v:.3f}x"


def table_markdown(rows: list[Row], cfg: BenchConfig, machine: str) -> str:
    lines = [
        f"# zoo bench{' --quick' if cfg.quick else ''}",
        "",
        f"Machine: {machine}. Params and MACs from meta-device builds at each component's static "
        "input shapes (MACs include attention; 'w/o attn' leaves out the QK^T and AV products). "
        "Latency: torch eager on this CPU, random weights, median (IQR) of "
        f"{cfg.repeats} calls after {cfg.warmup} warm-up; 'timed at' gives the shapes when they are "
        "reduced. 'Paper' columns are the papers' reported figures (their latencies are on their "
        "hardware, e.g. a phone NPU, so no ratio is taken); ratio = measured / paper. "
        "Papers that report GFLOPs usually count one multiply-add as one FLOP.",
        "",
        "| Model | Component | Params (M) | Paper (M) | Ratio | GMACs | w/o attn | Paper GMACs | Ratio "
        "| CPU latency ms | Timed at | Paper latency | Note |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        paper_macs_kind = "gmacs" if "gmacs" in r.reported else "gflops" if "gflops" in r.reported else None
        paper_lat = ", ".join(f"{k}={v:g}" for k, v in r.reported.items() if "latency" in k)
        others = ", ".join(f"{k}={v:g}" for k, v in r.reported.items()
                           if "latency" not in k and k not in {"params_m", "gmacs", "gflops"})
        lat = "-" if r.latency_ms is None else f"{r.latency_ms:,.1f} ({r.latency_iqr_ms:,.1f})"
        if r.latency_ms is None:
            timed = "-"
        elif r.latency_shapes != r.shapes:
            timed = ", ".join(f"{k} {'x'.join(map(str, v))}" for k, v in r.latency_shapes.items() if len(v) == 4)
        else:
            timed = "full"
        note = "; ".join(x for x in [r.error, r.latency_note, ("paper: " + others) if others else ""] if x)
        paper_macs = r.reported.get(paper_macs_kind) if paper_macs_kind else None
        lines.append("| " + " | ".join([
            r.model_id, r.component + (" *" if r.backbone else ""),
            _fmt(r.params and r.params / 1e6), _fmt(r.reported.get("params_m")), _ratio(r.ratio("params_m")),
            _fmt(r.macs and r.macs / 1e9, 1), _fmt(r.macs and (r.macs - (r.attention_macs or 0)) / 1e9, 1),
            _fmt(paper_macs, 1) + (" GFLOPs" if paper_macs_kind == "gflops" else ""),
            _ratio(r.ratio(paper_macs_kind) if paper_macs_kind else None),
            lat, timed, paper_lat or "-", note.replace("|", "/"),
        ]) + " |")
    lines += ["", "`*` the denoiser (component taking a timestep): the one plotted in pareto.png.", ""]
    return "\n".join(lines)


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of points no other point beats on both coordinates (lower is better)."""
    front = []
    for i, (x, y) in enumerate(points):
        if not any((x2 <= x and y2 <= y) and (x2 < x or y2 < y) for j, (x2, y2) in enumerate(points) if j != i):
            front.append(i)
    return sorted(front, key=lambda i: points[i][0])


def plot_pareto(rows: list[Row], path: Path, machine: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = [r for r in rows if r.backbone and r.params and r.macs]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    ax = axes[0]
    xy = [(r.macs / 1e9, r.params / 1e6) for r in pts]
    _scatter(ax, xy, [r.model_id for r in pts])
    ax.set_xlabel("GMACs per call (full size, attention included)")
    ax.set_ylabel("parameters (M)")
    ax.set_title("Denoiser size vs compute")
    ax = axes[1]
    timed = [r for r in pts if r.latency_ms is not None]
    xy = [(r.latency_macs / 1e9, r.latency_ms) for r in timed if r.latency_macs]
    labels = [r.model_id + (f" @{r.latency_note.split('(')[1].split(')')[0]}" if r.latency_note.startswith("at ") else "")
              for r in timed if r.latency_macs]
    _scatter(ax, xy, labels)
    ax.set_xlabel("GMACs at the timed shape")
    ax.set_ylabel("CPU latency, median ms")
    ax.set_title(f"Measured latency ({machine[:60]})", fontsize=9)
    if not xy:
        ax.text(0.5, 0.5, "no component timed", ha="center", va="center", transform=ax.transAxes)
    fig.suptitle("zoo bench: Pareto fronts (red line: not beaten on both axes)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _scatter(ax: Any, xy: list[tuple[float, float]], labels: list[str]) -> None:
    if not xy:
        return
    xs, ys = zip(*xy)
    ax.scatter(xs, ys, s=30, color="tab:blue", zorder=3)
    for (x, y), label in zip(xy, labels):
        ax.annotate(label, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    front = pareto_front(list(xy))
    ax.plot([xy[i][0] for i in front], [xy[i][1] for i in front], color="tab:red", lw=1, zorder=2)
    if min(xs) > 0 and max(xs) / min(xs) > 20:
        ax.set_xscale("log")
    if min(ys) > 0 and max(ys) / min(ys) > 20:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)


def rows_to_records(rows: list[Row], machine: str) -> list[dict[str, Any]]:
    from .evaluate.records import machine_description, make_record

    out = []
    count_dev = machine_description("meta")
    for r in rows:
        if r.error or r.params is None:
            continue
        base = dict(component=r.component, dataset="synthetic-inputs", task=None)
        shapes = {k: "x".join(map(str, v)) for k, v in r.shapes.items()}
        out.append(make_record(r.model_id, "cost", "params", r.params, unit="count", backend="count", device=count_dev, **base))
        out.append(make_record(r.model_id, "cost", "macs", r.macs, unit="count", backend="count", device=count_dev,
                               settings={"inputs": shapes}, **base))
        out.append(make_record(r.model_id, "cost", "macs_no_attention", r.macs - r.attention_macs, unit="count",
                               backend="count", device=count_dev, settings={"inputs": shapes}, **base))
        if r.latency_ms is not None:
            out.append(make_record(r.model_id, "cost", "latency_ms", r.latency_ms, unit="ms", backend="torch", device=machine,
                                   settings={"inputs": {k: "x".join(map(str, v)) for k, v in r.latency_shapes.items()}},
                                   spread={"iqr_ms": r.latency_iqr_ms}, **base))
    return out


def write_outputs(rows: list[Row], cfg: BenchConfig, out: Path, elapsed: float) -> dict[str, Path]:
    from .evaluate.records import current_command, machine_description, now

    machine = machine_description("cpu")
    from . import atomic

    atomic.make_dirs(out)
    paths = {"markdown": out / "bench.md", "json": out / "bench.json", "records": out / "records.json", "plot": out / "pareto.png"}
    md = table_markdown(rows, cfg, machine) + f"\nBench took {elapsed:.0f} s. Command: `{current_command()}`. Date: {now()}.\n"
    atomic.write_text(paths["markdown"], md)
    meta = {"machine": machine, "command": current_command(), "date": now(), "elapsed_s": elapsed,
            "config": {k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in asdict(cfg).items()}}
    atomic.write_text(paths["json"], json.dumps({**meta, "rows": [asdict(r) for r in rows]}, indent=2) + "\n")
    atomic.write_text(paths["records"], json.dumps(rows_to_records(rows, machine), indent=2) + "\n")
    plot_pareto(rows, paths["plot"], machine)
    return paths
