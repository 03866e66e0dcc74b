"""The bench table (markdown): measured params, MACs and CPU latency beside the papers' figures."""
from __future__ import annotations

from typing import Any, Optional

from .config import BenchConfig
from .rows import Row


def _fmt(v: Optional[float], digits: int = 2) -> str:
    if v is None:
        return "-"
    return f"{v:,.{digits}f}" if abs(v) >= 1 or v == 0 else f"{v:.3g}"


def _ratio(v: Optional[float]) -> str:
    return "-" if v is None else f"{v:.3f}x"


def _teacher_cell(r: Row) -> str:
    if r.teacher_ratio is not None:
        return f"{r.teacher_ratio:.2f}x {r.teacher}"
    return "-"


def table_markdown(rows: list[Row], cfg: BenchConfig, machine: str, run: Optional[dict[str, Any]] = None) -> str:
    run = run or {}
    load = ""
    if run.get("load_before") is not None:
        load = (f" Load average (1 min) before {run['load_before']:.2f}, after {run['load_after']:.2f} on "
                f"{run.get('cpus', '?')} CPUs.")
    lines = [
        f"# zoo bench{' --quick' if cfg.quick else ''}",
        "",
        f"Machine: {machine}; torch threads pinned to {run.get('threads', '?')}.{load} Params and MACs from "
        "meta-device builds at each component's static input shapes (MACs include attention; 'w/o attn' leaves "
        "out the QK^T and AV products). Latency: torch eager on this CPU, random weights, median (IQR) of "
        f"{cfg.repeats} rounds after {cfg.warmup} warm-up; each model's components are timed in rounds (A B A B) "
        "together with its teacher's denoiser at the same output resolution, and 'vs teacher' is the ratio of the "
        "two medians from those rounds, which holds when the machine is noisy while absolute times do not. "
        "'Timed at' gives the shapes when they are reduced. 'Paper' columns are the papers' reported figures "
        "(their latencies are on their hardware, e.g. a phone NPU, so no ratio is taken); ratio = measured / "
        "paper. Papers that report GFLOPs usually count one multiply-add as one FLOP.",
        "",
        "| Model | Component | Params (M) | Paper (M) | Ratio | GMACs | w/o attn | Paper GMACs | Ratio "
        "| CPU latency ms | vs teacher | Timed at | Paper latency | Note |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        paper_macs_kind = next((k for k in ("gmacs", "gflops", "gmacs_no_attention") if k in r.reported), None)
        paper_lat = ", ".join(f"{k}={v:g}" for k, v in r.reported.items() if "latency" in k)
        others = ", ".join(f"{k}={v:g}" for k, v in r.reported.items()
                           if "latency" not in k and k not in {"params_m", "gmacs", "gflops", "gmacs_no_attention"})
        lat = "-" if r.latency_ms is None else f"{r.latency_ms:,.1f} ({r.latency_iqr_ms:,.1f})"
        if r.latency_ms is None:
            timed = "-"
        elif r.latency_shapes != r.shapes:
            timed = ", ".join(f"{k} {'x'.join(map(str, v))}" for k, v in r.latency_shapes.items() if len(v) == 4)
        else:
            timed = "full"
        note = "; ".join(x for x in [r.error, r.latency_note, ("paper: " + others) if others else "",
                                     *r.reported_notes] if x)
        paper_macs = r.reported.get(paper_macs_kind) if paper_macs_kind else None
        suffix = {"gflops": " GFLOPs", "gmacs_no_attention": " w/o attn"}.get(paper_macs_kind or "", "")
        lines.append("| " + " | ".join([
            r.model_id, r.component + (" *" if r.backbone else ""),
            _fmt(r.params and r.params / 1e6), _fmt(r.reported.get("params_m")), _ratio(r.ratio("params_m")),
            _fmt(r.macs and r.macs / 1e9, 1), _fmt(r.macs and (r.macs - (r.attention_macs or 0)) / 1e9, 1),
            _fmt(paper_macs, 1) + (suffix if paper_macs is not None else ""),
            _ratio(r.ratio(paper_macs_kind) if paper_macs_kind else None),
            lat, _teacher_cell(r), timed, paper_lat or "-", note.replace("|", "/"),
        ]) + " |")
    lines += ["", "`*` the denoiser (component taking a timestep): the one plotted in pareto.png.", ""]
    return "\n".join(lines)
