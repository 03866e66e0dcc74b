"""Feature-wise generative distillation (FwGD): train each candidate block alone to reproduce
its teacher stage's output from the teacher stage's input, ``L = ||B(i,j)(F) - B_i(F)||^2``.

Parallelism: the candidates are independent, so with several processes (``accelerate launch``
or ``torchrun``) they are *sharded across ranks*: each candidate is trained start to finish by
one rank, with seeds that depend only on the candidate's name. A two-process run therefore
yields exactly the blocks of a one-process run; there is no gradient all-reduce, and no DDP
wrapper (it would average gradients of different models). Output folders must be on a file
system every rank sees. Data parallelism inside one candidate is not done: 30 independent
jobs already keep 8 devices busy, and it would make results depend on the world size.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

from ..errors import ZooError
from .capture import StageDataset, stage_dir
from .checkpoint import load_weights
from .config import BlockDistillConfig
from .loop import TrainResult, is_done, read_result, seed_for, train
from .stages import Candidate
from .tree import map_tensors, tensor_leaves


def process_state(cpu: Optional[bool] = None) -> Any:
    """accelerate's PartialState; on a machine without CUDA it must be told ``cpu=True``, or
    a multi-process launch silently runs independent copies instead of one gloo group."""
    import torch
    from accelerate import PartialState

    if cpu is None:
        cpu = not torch.cuda.is_available()
    return PartialState(cpu=cpu)


def shard(candidates: Sequence[Candidate], world: int) -> list[list[Candidate]]:
    """Longest-job-first greedy assignment of candidates to ``world`` ranks (deterministic)."""
    loads = [0.0] * world
    out: list[list[Candidate]] = [[] for _ in range(world)]
    for c in sorted(candidates, key=lambda c: (-c.weight, c.name)):
        r = min(range(world), key=lambda i: (loads[i], i))
        out[r].append(c)
        loads[r] += c.weight
    return out


def stage_mse(pred: Any, target: Any, where: str = "") -> Any:
    """Mean over output tensors of each tensor's MSE to the teacher's (a skip tensor counts as
    much as the main output: the decoder reads both)."""
    import torch.nn.functional as F

    p, t = tensor_leaves(pred), tensor_leaves(target)
    if len(p) != len(t):
        raise ZooError(f"{where}: block returns {len(p)} tensors, the teacher stage {len(t)}")
    losses = []
    for a, b in zip(p, t):
        if a.shape != b.shape:
            raise ZooError(f"{where}: block output shape {tuple(a.shape)} != teacher's {tuple(b.shape)}")
        losses.append(F.mse_loss(a.float(), b.float()))
    return sum(losses) / len(losses)


def load_datasets(capture_dir: Path, stages: Sequence[str], ram_cache_mb: int = 2048) -> dict[str, StageDataset]:
    return {s: StageDataset(stage_dir(capture_dir, s), ram_cache_mb) for s in stages}


def distill_blocks(
    candidates: Sequence[Candidate],
    data: Mapping[str, StageDataset] | Path,
    cfg: BlockDistillConfig,
    *,
    resume: bool = True,
    progress: bool = True,
    state: Any = None,
    loss_fn: Callable[[Any, Any, str], Any] = stage_mse,
) -> dict[str, TrainResult]:
    """Train every candidate (this rank's share of them) and return all candidates' results.

    ``data`` maps stage name -> StageDataset, or is a capture folder. Each block is written to
    ``{cfg.out_dir}/{candidate.name}/block.safetensors``; finished blocks are skipped.
    """
    import torch

    cands = [c for c in candidates if cfg.only is None or c.name in cfg.only]
    if cfg.only is not None and len(cands) != len(set(cfg.only)):
        missing = sorted(set(cfg.only) - {c.name for c in cands})
        raise ZooError(f"unknown candidates in 'only': {missing}")
    names = [c.name for c in cands]
    if len(set(names)) != len(names):
        raise ZooError("two candidates share a name (stage, choice)")
    if isinstance(data, (str, Path)):
        data = load_datasets(Path(data), sorted({c.stage for c in cands}), cfg.ram_cache_mb)
    rank, world = (state.process_index, state.num_processes) if state is not None else (0, 1)
    device = state.device if state is not None else torch.device("cpu")
    out_dir = Path(cfg.out_dir)
    mine = shard(cands, world)[rank]
    for k, cand in enumerate(mine):
        run_dir = out_dir / cand.name
        if is_done(run_dir) and resume:
            continue
        if cand.stage not in data:
            raise ZooError(f"no captured data for stage {cand.stage!r} (candidate {cand.name})")
        ds = data[cand.stage]
        torch.manual_seed(seed_for(cfg.seed, "init", cand.name))  # fresh parts of a block: same on any rank
        block = cand.build().to(device)
        block.requires_grad_(True)

        def loss(step: int, gen: Any, _ds=ds, _block=block, _name=cand.name) -> Any:
            n = len(_ds)
            perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed_for(cfg.seed, "epoch", _name, step // n)))
            args, kwargs, target = _ds[int(perm[step % n])]
            to = lambda t: t.to(device)  # noqa: E731
            args, kwargs, target = map_tensors(args, to), map_tensors(kwargs, to), map_tensors(target, to)
            return loss_fn(_block(*args, **kwargs), target, _name)

        train({"block": block}, loss, cfg, run_dir, desc=f"FwGD {cand.name} [{k + 1}/{len(mine)} on rank {rank}]",
              key=cand.name, resume=resume, position=0, progress=progress)
        del block
    if state is not None:
        state.wait_for_everyone()
    missing = [c.name for c in cands if not is_done(out_dir / c.name)]
    if missing:
        raise ZooError(f"blocks not finished: {missing}")
    return {c.name: read_result(out_dir / c.name) for c in cands}


def load_block(cand: Candidate, blocks_dir: Path) -> Any:
    """Build a candidate and load its distilled weights."""
    path = Path(blocks_dir) / cand.name / "block.safetensors"
    if not path.is_file():
        raise ZooError(f"no distilled block {cand.name} in {blocks_dir}; run the block stage first")
    return load_weights(path, cand.build()).eval()
