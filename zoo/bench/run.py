"""A bench run: select models, count every one, then time them grouped by teacher (the
teacher's denoiser stays materialised while its students are timed beside it), with the torch
thread count pinned and the machine's load recorded before and after."""
from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any, Iterator, Optional

from ..errors import ZooError
from ..specs import ModelSpec
from .config import BenchConfig
from .measure import Counted, count_model, materialise_teacher, time_model
from .outputs import write_outputs
from .rows import Row, teacher_of


def select_specs(cfg: BenchConfig) -> list[ModelSpec]:
    from ..registry import get_registry

    specs = get_registry().list(cfg.pattern)
    if not cfg.include_tiny:
        specs = [s for s in specs if not s.id.split(".")[0].endswith("-tiny") and "tiny" not in s.tags]
    return specs


def _load() -> Optional[float]:
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):
        return None


@contextlib.contextmanager
def pinned_threads(threads: Optional[int]) -> Iterator[int]:
    """torch's intra-op thread count set explicitly (default: its current count) and restored after."""
    import torch

    before = torch.get_num_threads()
    n = threads or before
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(before)


def run_bench(cfg: BenchConfig, out: Path) -> list[Row]:
    from tqdm.auto import tqdm

    from ..registry import get_registry

    specs = select_specs(cfg)
    if not specs:
        raise ZooError(f"no model matches {cfg.pattern!r}" + ("" if cfg.include_tiny else " (tiny variants are skipped: --include-tiny)"))
    registered = {s.id: s for s in get_registry().list("*")}
    run: dict[str, Any] = {"load_before": _load(), "cpus": os.cpu_count()}
    t0 = time.perf_counter()
    cache: dict[str, Any] = {}
    with pinned_threads(cfg.threads) as threads:
        run["threads"] = threads
        counted = {s.id: count_model(s, cfg, cache) for s in tqdm(specs, desc="count", unit="model", disable=not cfg.progress)}
        if cfg.latency:
            _time_all(counted, registered, cfg, cache)
    run["load_after"] = _load()
    rows = [r for c in counted.values() for r in c.rows.values()]
    write_outputs(rows, cfg, Path(out), time.perf_counter() - t0, run)
    return rows


def _time_all(counted: dict[str, Counted], registered: dict[str, ModelSpec], cfg: BenchConfig, cache: dict[str, Any]) -> None:
    """Time models grouped by teacher, each group beside its teacher's denoiser."""
    from tqdm.auto import tqdm

    groups: dict[Optional[str], list[Counted]] = {}
    for c in counted.values():
        groups.setdefault(teacher_of(c.spec, registered), []).append(c)
    bar = tqdm(total=len(counted), desc="time", unit="model", disable=not cfg.progress)
    for tid, members in groups.items():
        teacher = None
        if tid is not None:  # the teacher is counted even when the pattern leaves it out
            tc = counted.get(tid) or count_model(registered[tid], cfg, cache)
            teacher = materialise_teacher(tc)
        for c in members:
            bar.set_postfix_str(c.spec.id)
            time_model(c, cfg, cache, teacher)
            bar.update(1)
        del teacher
    bar.close()
