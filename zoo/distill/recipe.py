"""What every distillation recipe repeats (NanoSD, EdgeDiT, ...): running its named stages with
done-markers (resume; sharded stages on every rank, the others on rank 0 while the rest wait),
and the block stage (teacher stage I/O captured on noised training batches, then every
candidate distilled against it)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Collection, Mapping, Sequence

from .. import atomic  # marker/summary files: complete or absent (resume reads them)
from ..errors import ZooError
from .config import BlockDistillConfig, CaptureConfig


def run_stages(out: Path, todo: Sequence[str], stages: Mapping[str, Callable[[], Any]], *, resume: bool, state: Any,
               sharded: Collection[str] = ("block",)) -> dict[str, Any]:
    """Run ``stages[name]()`` for each name in ``todo``; a finished stage leaves
    ``{out}/{name}.done.json`` (its result) and is skipped with ``resume`` (an error without)."""
    out = Path(out)
    main = state.is_main_process
    log: dict[str, Any] = {}
    for stage in todo:
        done = out / f"{stage}.done.json"
        if done.is_file():
            if not resume:
                raise ZooError(f"{out} already holds a finished '{stage}' stage; pass --resume to skip it "
                               "or choose another --out")
            log[stage] = json.loads(done.read_text())
            continue
        if stage in sharded or main:  # sharded stages split their work over the ranks themselves
            log[stage] = stages[stage]()
        state.wait_for_everyone()
        if main:
            atomic.write_text(done, json.dumps(log.get(stage, {}), indent=1, default=str))
    return log


def capture_and_distill(model: Any, stage_names: Sequence[str], candidates: Sequence[Any],
                        batch_fn: Callable[[Any, int], Mapping[str, Any]], scheduler: Any, capture: CaptureConfig,
                        blocks: BlockDistillConfig, out: Path, *, seed: int, device: Any, resume: bool,
                        progress: bool, state: Any) -> dict[str, float]:
    """Capture ``model``'s stage inputs/outputs while it denoises noised training batches
    (``batch_fn(generator, size)`` -> ``{"z_t": latents, "cond": conditioning}``; timesteps and noise
    drawn from the batch index, so the capture is reproducible), called as
    ``model(noisy, t, cond)``; then distil every candidate (sharded across ranks). Writes
    ``{out}/capture``, ``{out}/blocks/*`` and ``{out}/blocks/summary.json``; returns the final losses."""
    import torch

    from .capture import capture_stage_io
    from .fwgd import distill_blocks
    from .loop import seed_for

    def run_fn(m: Any, b: int) -> None:
        gen = torch.Generator().manual_seed(seed_for(capture.seed + seed, "capture", b))
        batch = batch_fn(gen, capture.batch_size)
        t = torch.randint(0, scheduler.config.num_train_timesteps, (capture.batch_size,), generator=gen)
        noise = torch.randn(batch["z_t"].shape, generator=gen).to(device)
        t = t.to(device)
        m(scheduler.add_noise(batch["z_t"], noise, t), t, batch["cond"])

    out = Path(out)
    data = capture_stage_io(model, stage_names, run_fn, capture.n_batches, out / "capture", dtype=capture.dtype,
                            resume=resume, progress=progress, state=state)
    bcfg = blocks.model_copy(update={"out_dir": out / "blocks"})
    res = distill_blocks(candidates, data, bcfg, resume=resume, progress=progress, state=state)
    summary = {name: r.final_loss for name, r in res.items()}
    if state is None or state.is_main_process:
        atomic.write_text(out / "blocks" / "summary.json", json.dumps(summary, indent=1))
    return summary
