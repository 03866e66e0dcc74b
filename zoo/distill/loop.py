"""The one optimisation loop every engine stage uses (blocks, VAE parts, alignment):
AdamW, optional warm-up/cosine, grad clipping, safetensors checkpoints, exact resume.

Exact resume: every step draws its randomness from a generator seeded by (seed, step), so a
resumed run sees the same batches and noise as an uninterrupted one; the global RNG state and
the optimiser moments are restored from the checkpoint too.
"""
from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from .. import atomic  # marker/summary files: complete or absent (resume reads them)
from ..errors import ZooError
from .checkpoint import CHECKPOINT, load_checkpoint, save_checkpoint, save_weights
from .config import TrainConfig

DONE = "done.json"


class TrainingInterrupted(ZooError):
    """A run left early (``stop_after``); rerun with resume to finish from its last checkpoint."""

    def __init__(self, run_dir: Path, step: int) -> None:
        super().__init__(f"training in {run_dir} stopped at step {step} (stop_after); "
                         "run again with --resume to continue from the last checkpoint")
        self.run_dir, self.step = run_dir, step


@dataclass
class TrainResult:
    run_dir: Path
    steps: int
    final_loss: float
    losses: list[float] = field(default_factory=list)
    resumed_from: int = 0


def seed_for(seed: int, *keys: Any) -> int:
    """A stable 63-bit seed from a base seed and keys (names, steps): the same on every rank."""
    h = zlib.crc32(repr((seed, *keys)).encode())
    return (seed * 1_000_003 + h) % (2**63 - 1)


def lr_at(cfg: TrainConfig, step: int) -> float:
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.lr_schedule == "cosine":
        span = max(1, cfg.steps - cfg.warmup_steps)
        frac = min(1.0, (step - cfg.warmup_steps) / span)
        return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
    return cfg.lr


def is_done(run_dir: Path) -> bool:
    return (Path(run_dir) / DONE).is_file()


def read_result(run_dir: Path) -> TrainResult:
    d = json.loads((Path(run_dir) / DONE).read_text())
    return TrainResult(run_dir=Path(run_dir), steps=d["steps"], final_loss=d["final_loss"], losses=d["losses"],
                       resumed_from=d.get("resumed_from", 0))


def train(
    modules: Mapping[str, Any],
    loss_fn: Callable[[int, Any], Any],
    cfg: TrainConfig,
    run_dir: Path,
    *,
    params: Iterable[Any] | None = None,
    desc: str = "train",
    key: str | None = None,
    resume: bool = True,
    position: int = 0,
    progress: bool = True,
) -> TrainResult:
    """Minimise ``loss_fn(step, generator)`` over the trainable parameters of ``modules``.

    Writes ``{run_dir}/checkpoint.safetensors`` every ``cfg.checkpoint_every`` steps, then each
    module's weights as ``{run_dir}/{name}.safetensors`` and ``done.json`` at the end. A finished
    run is not redone; with ``resume=False`` an existing checkpoint is an error rather than
    being silently overwritten.
    """
    import torch
    from tqdm.auto import tqdm

    key = key or desc  # seeds depend on this, never on the rank or the progress-bar label
    run_dir = Path(run_dir)
    if is_done(run_dir):
        if not resume:
            raise ZooError(f"{run_dir} already holds a finished run; pass --resume to reuse it or choose another --out")
        return read_result(run_dir)
    ckpt = run_dir / CHECKPOINT
    if params is None:
        params = [p for m in modules.values() for p in m.parameters() if p.requires_grad]
    params = list(params)
    if not params:
        raise ZooError(f"{desc}: nothing to train (no parameter requires grad)")
    opt = torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
    start, losses = 0, []
    if ckpt.is_file():
        if not resume:
            raise ZooError(f"{run_dir} holds a checkpoint of an earlier run; pass --resume to continue it "
                           "or choose another --out")
        state = load_checkpoint(ckpt, modules, opt)
        start, losses = state["step"], list(state["extra"].get("losses", []))
    else:
        torch.manual_seed(seed_for(cfg.seed, "global", key))
    for m in modules.values():
        m.train()
    bar = tqdm(total=cfg.steps, initial=start, desc=desc, position=position, leave=position == 0,
               disable=not progress, dynamic_ncols=True)
    step = start
    try:
        while step < cfg.steps:
            for group in opt.param_groups:
                group["lr"] = lr_at(cfg, step)
            gen = torch.Generator().manual_seed(seed_for(cfg.seed, "step", key, step))
            loss = loss_fn(step, gen)
            if not torch.isfinite(loss):
                raise ZooError(f"{desc}: loss became {loss.item()} at step {step}; lower lr or check the data")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            opt.step()
            step += 1
            losses.append(float(loss.detach()))
            bar.update(1)
            if step % cfg.log_every == 0 or step == cfg.steps:
                bar.set_postfix(loss=f"{_mean(losses[-cfg.log_every:]):.4g}")
            if step % cfg.checkpoint_every == 0 or step == cfg.steps:
                save_checkpoint(ckpt, modules, opt, step, extra={"losses": losses})
            if cfg.stop_after is not None and step >= cfg.stop_after and step < cfg.steps:
                # as a preempted job: no save here, the next run restarts from the last checkpoint
                raise TrainingInterrupted(run_dir, step)
    finally:
        bar.close()
    for name, m in modules.items():
        save_weights(run_dir / f"{name}.safetensors", m)
    result = TrainResult(run_dir=run_dir, steps=step, final_loss=_mean(losses[-cfg.log_every:]), losses=losses,
                         resumed_from=start)
    atomic.write_text(run_dir / DONE, json.dumps({"steps": step, "final_loss": result.final_loss, "losses": losses,
                                                  "resumed_from": start}, indent=1))
    for m in modules.values():
        m.eval()
    return result


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")
