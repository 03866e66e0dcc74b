"""Capture the teacher's per-stage inputs and outputs with forward hooks, to disk.

Each (stage, batch, call) becomes one safetensors file holding the stage's positional
arguments, keyword arguments and output, so big captures never live in RAM and a stage's
candidates train from exactly what the teacher stage saw. Batches are split across processes
(batch b on rank b mod world) and each is seeded by its index, so the data do not depend on
how many processes captured them.
"""
from __future__ import annotations

import json
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from .. import atomic  # marker/summary files: complete or absent (resume reads them)
from ..errors import ZooError
from .checkpoint import load_tensors, save_tensors
from .tree import map_tensors

INDEX = "index.json"


def stage_dir(root: Path, stage: str) -> Path:
    return Path(root) / re.sub(r"[^A-Za-z0-9_.-]", "_", stage)


def capture_stage_io(
    model: Any,
    stage_names: Sequence[str],
    run_fn: Callable[[Any, int], Any],
    n_batches: int,
    out_dir: Path,
    *,
    dtype: Optional[str] = None,
    resume: bool = True,
    progress: bool = True,
    state: Any = None,
) -> dict[str, "StageDataset"]:
    """Run ``run_fn(model, batch_index)`` for ``n_batches`` batches with hooks on the named
    stages; return a StageDataset per stage.

    ``run_fn`` draws its own inputs (timesteps, prompts, latents) from the batch index so a
    capture is reproducible. Batches already on disk are skipped when ``resume``.
    ``state`` is an ``accelerate.PartialState`` (or None for one process).
    """
    import torch
    from tqdm.auto import tqdm

    from .stages import get_stage

    out_dir = Path(out_dir)
    rank, world = (state.process_index, state.num_processes) if state is not None else (0, 1)
    index = out_dir / INDEX
    if index.is_file():
        meta = json.loads(index.read_text())
        if meta.get("stages") == list(stage_names) and meta.get("n_batches") == n_batches:
            return {s: StageDataset(stage_dir(out_dir, s)) for s in stage_names}
        if not resume:
            raise ZooError(f"{out_dir} holds a different capture; choose another --out")
    elif any(out_dir.glob("*/b*.safetensors")) and not resume:
        raise ZooError(f"{out_dir} holds part of an earlier capture; pass --resume or choose another --out")
    cast = getattr(torch, dtype) if dtype else None
    records: dict[str, list] = {s: [] for s in stage_names}

    def keep(t):
        t = t.detach().to("cpu").clone()
        return t.to(cast) if cast is not None and t.is_floating_point() else t

    def make_hook(name):
        def hook(module, args, kwargs, output):
            records[name].append(map_tensors({"args": tuple(args), "kwargs": dict(kwargs), "output": output}, keep))
        return hook

    handles = [get_stage(model, s).register_forward_hook(make_hook(s), with_kwargs=True) for s in stage_names]
    done_dir = out_dir / "batches"
    atomic.make_dirs(done_dir)
    mine = [b for b in range(n_batches) if b % world == rank]
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        with torch.no_grad():
            for b in tqdm(mine, desc="capture stage I/O", disable=not progress or rank != 0, dynamic_ncols=True):
                if (done_dir / f"{b:05d}").is_file():
                    continue
                for r in records.values():
                    r.clear()
                run_fn(model, b)
                for s in stage_names:
                    if not records[s]:
                        raise ZooError(f"stage {s!r} was not called by run_fn in batch {b}")
                    for c, rec in enumerate(records[s]):
                        save_tensors(stage_dir(out_dir, s) / f"b{b:05d}-c{c:02d}.safetensors", rec)
                atomic.write_text(done_dir / f"{b:05d}", "")  # the batch counts only once all its files are written
    finally:
        for h in handles:
            h.remove()
        if was_training:
            model.train()
    if state is not None:
        state.wait_for_everyone()
    if rank == 0:
        counts = {s: len(list(stage_dir(out_dir, s).glob("b*.safetensors"))) for s in stage_names}
        atomic.write_text(index, json.dumps({"stages": list(stage_names), "n_batches": n_batches, "items": counts,
                                             "dtype": dtype}, indent=1))
    if state is not None:
        state.wait_for_everyone()
    return {s: StageDataset(stage_dir(out_dir, s)) for s in stage_names}


class StageDataset:
    """The captured calls of one stage: item i is ``(args, kwargs, output)``.

    Items are read from disk on demand and kept in an LRU cache of ``ram_cache_mb``.
    """

    def __init__(self, folder: Path, ram_cache_mb: int = 2048) -> None:
        self.folder = Path(folder)
        self.files = sorted(self.folder.glob("b*.safetensors"))
        if not self.files:
            raise ZooError(f"no captured stage data in {self.folder}; run the capture first")
        self.cache: OrderedDict[int, Any] = OrderedDict()
        self.cache_bytes, self.limit = 0, ram_cache_mb * 2**20

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[tuple, dict, Any]:
        if i in self.cache:
            self.cache.move_to_end(i)
            rec = self.cache[i]
        else:
            rec = load_tensors(self.files[i])
            size = self.files[i].stat().st_size
            if size <= self.limit:
                self.cache[i] = rec
                self.cache_bytes += size
                while self.cache_bytes > self.limit:
                    j, _ = self.cache.popitem(last=False)
                    self.cache_bytes -= self.files[j].stat().st_size
        return rec["args"], rec["kwargs"], rec["output"]
