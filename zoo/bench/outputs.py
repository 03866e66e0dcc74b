"""What a bench run writes: bench.md, bench.json (rows + machine, threads and load), the cost
records (records.json) and pareto.png."""
from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .config import BenchConfig
from .plot import plot_pareto
from .rows import Row
from .table import table_markdown


def rows_to_records(rows: list[Row], machine: str) -> list[dict[str, Any]]:
    from ..evaluate.records import machine_description, make_record

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
        if r.teacher_ratio is not None:
            out.append(make_record(r.model_id, "cost", "latency_ratio_to_teacher", r.teacher_ratio, unit="x",
                                   backend="torch", device=machine, settings={"teacher": r.teacher,
                                   "inputs": {k: "x".join(map(str, v)) for k, v in r.latency_shapes.items()}},
                                   **base))
    return out


def write_outputs(rows: list[Row], cfg: BenchConfig, out: Path, elapsed: float, run: dict[str, Any]) -> dict[str, Path]:
    from .. import atomic
    from ..evaluate.records import current_command, machine_description, now

    machine = machine_description("cpu")
    atomic.make_dirs(out)
    paths = {"markdown": out / "bench.md", "json": out / "bench.json", "records": out / "records.json", "plot": out / "pareto.png"}
    md = table_markdown(rows, cfg, machine, run) + f"\nBench took {elapsed:.0f} s. Command: `{current_command()}`. Date: {now()}.\n"
    atomic.write_text(paths["markdown"], md)
    meta = {"machine": machine, "command": current_command(), "date": now(), "elapsed_s": elapsed, **run,
            "config": {k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in asdict(cfg).items()}}
    atomic.write_text(paths["json"], json.dumps({**meta, "rows": [asdict(r) for r in rows]}, indent=2) + "\n")
    atomic.write_text(paths["records"], json.dumps(rows_to_records(rows, machine), indent=2) + "\n")
    plot_pareto(rows, paths["plot"], machine)
    return paths
