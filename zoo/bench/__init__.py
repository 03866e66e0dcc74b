"""`zoo bench`: cost of every registered full-size model, beside the papers' figures.

For each model: a meta-device build gives every component's parameters and MACs (attention
included) without allocating weights; components that fit the time/memory budget are then
materialised with random weights and timed on this machine's CPU in rounds together with the
teacher's denoiser (A B A B), with the thread count pinned and the load recorded. Writes
``bench.md``, ``bench.json``, ``records.json`` and ``pareto.png``. Needs no weights.

Files: config (BenchConfig), rows (Row, papers' figures per component, teachers), measure
(counting and interleaved timing), table, plot, outputs, run.
"""
from __future__ import annotations

from .config import BenchConfig
from .rows import Row, backbone_name, reported_by_component, teacher_of
from .run import run_bench, select_specs

__all__ = ["BenchConfig", "Row", "run_bench", "select_specs", "backbone_name", "reported_by_component", "teacher_of"]
