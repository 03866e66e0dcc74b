"""Multi-task MTU training on accelerate: each step sums the epsilon losses of a task mix drawn
by ``task_weights`` (uniform unless configured), one batch per drawn task; only MTU's modules
train (experts, routers, task embeddings, task norms, task conv_in).

    zoo train mtu-tiny --config mtu.yaml        # or zoo_mtu.train.train(pipe, MTUTrainConfig(...))

Latents, condition latents and prompt embeddings are computed once (the VAE and text encoder are
frozen). One process by default; several with ``accelerate launch`` (each draws its own batches).
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from zoo import ZooError

from .choices import TASKS


class MTUTrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tasks: list[str] = Field(default_factory=lambda: ["edit", "sr", "inpaint"])
    task_weights: Optional[dict[str, float]] = Field(None, description="task sampling weights; None = uniform")
    source: str = Field("proving", description="'proving' (the proving ground) or a data folder (zoo_mtu.data)")
    size: int = Field(64, ge=8, description="image size in pixels")
    count: int = Field(64, ge=1, description="items per task (proving ground)")
    steps: int = Field(200, ge=1)
    batch_size: int = Field(8, ge=1)
    lr: float = Field(1e-4, gt=0, description="Adam, the paper's SD1.5 rate")
    seed: int = 0
    experts: int = Field(4, ge=1)
    out: Optional[Path] = Field(None, description="folder for the trained pipeline (written atomically)")
    overwrite: bool = False
    progress: bool = True

    @field_validator("tasks")
    @classmethod
    def _tasks(cls, v: list[str]) -> list[str]:
        if not v or any(t not in TASKS for t in v) or len(set(v)) != len(v):
            raise ValueError(f"tasks must be distinct names from {', '.join(TASKS)}")
        return v


def parse_config(config: Optional[dict]) -> MTUTrainConfig:
    try:
        cfg = MTUTrainConfig(**(config or {}))
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ZooError(f"mtu train config {'.'.join(map(str, err['loc']))}: {err['msg']}") from None
    if cfg.task_weights is not None:
        bad = set(cfg.task_weights) - set(cfg.tasks)
        if bad or any(w < 0 for w in cfg.task_weights.values()) or not sum(cfg.task_weights.values()) > 0:
            raise ZooError(f"task_weights must give non-negative weights to tasks of {cfg.tasks} (got {cfg.task_weights})")
    if cfg.out is not None and cfg.out.exists() and not cfg.overwrite:
        raise ZooError(f"{cfg.out} exists: pass overwrite: true to replace it")
    return cfg


class Encoded:
    """One task's training tensors: target latents, condition latents, prompt embeddings."""

    def __init__(self, pipe: Any, data: Any):
        import torch

        from zoo.proving.photos import to_tensor

        from .conditions import encode

        vae, sf = pipe.vae, pipe.vae.config.scaling_factor
        with torch.no_grad():
            self.x0 = vae.encode(to_tensor(data.targets)).latent_dist.mean * sf
            self.cond = None if data.conds is None else encode(vae, to_tensor(data.conds))
            prompts = sorted(set(data.prompts))
            ids = pipe.tokenizer(prompts, padding="max_length", max_length=pipe.tokenizer.model_max_length,
                                 truncation=True, return_tensors="pt").input_ids
            emb = pipe.text_encoder(ids)[0]
        self.emb = emb[torch.tensor([prompts.index(p) for p in data.prompts])]

    def batch(self, n: int, gen: Any) -> tuple:
        import torch

        idx = torch.randint(0, len(self.x0), (n,), generator=gen)
        return self.x0[idx], None if self.cond is None else self.cond[idx], self.emb[idx]


def eps_loss(unet: Any, scheduler: Any, task: str, x0: Any, cond: Any, emb: Any, gen: Any, net: Any = None) -> Any:
    """Epsilon (or v) prediction MSE of ``unet`` on ``task`` at random timesteps and noise from ``gen``
    (``net``: the module to call, e.g. accelerate's wrapper of ``unet``)."""
    import torch
    import torch.nn.functional as F

    noise = torch.randn(x0.shape, generator=gen).to(x0)
    t = torch.randint(0, scheduler.config.num_train_timesteps, (x0.shape[0],), generator=gen).to(x0.device)
    noisy = scheduler.add_noise(x0, noise, t)
    inp = noisy if cond is None else torch.cat([noisy, cond], dim=1)
    unet.set_task(task) if hasattr(unet, "set_task") else _set(unet, task)
    pred = (net or unet)(inp, t, emb).sample
    target = noise if scheduler.config.prediction_type == "epsilon" else scheduler.get_velocity(x0, noise, t)
    return F.mse_loss(pred.float(), target.float())


def _set(unet: Any, task: str) -> None:
    from .modules import state_of

    state = state_of(unet)
    state.task, state.cond = task, None


def fixed_losses(unet: Any, scheduler: Any, enc: dict, n: int = 16, seed: int = 1234) -> dict[str, float]:
    """Per-task loss on fixed training items, timesteps and noise: comparable before and after training
    (held-out quality is PSNR on the test photos: benchmarks/mtu_miniature.py)."""
    import torch

    out = {}
    device = next(unet.parameters()).device
    with torch.no_grad():
        for task, e in enc.items():
            gen = torch.Generator().manual_seed(seed)
            batch = (v if v is None else v.to(device) for v in e.batch(n, gen))
            out[task] = float(eps_loss(unet, scheduler, task, *batch, gen))
    return out


def train(pipe: Any, cfg: MTUTrainConfig, info: Optional[dict] = None) -> dict[str, Any]:
    """Train the MTU-upcycled ``pipe`` (``zoo_mtu.apply`` first) in place; returns the log (and ``out``,
    the folder written when ``cfg.out`` is set, with ``training.json``: ``info``, the config, losses, time)."""
    import random
    import time

    import torch
    from accelerate import Accelerator
    from tqdm.auto import tqdm

    from .data import task_data
    from .modules import mtu_parameters, state_of

    unet = pipe.unet
    try:
        tasks_here = state_of(unet).tasks
    except ValueError:
        raise ZooError("the pipeline is not MTU-upcycled: load it with techniques={'mtu': {}}") from None
    missing = [t for t in cfg.tasks if t not in tasks_here]
    if missing:
        raise ZooError(f"the model has no task {missing[0]!r} (it has {', '.join(tasks_here)})")
    start = time.time()
    enc = {t: Encoded(pipe, task_data(t, cfg.source, "train", cfg.size, cfg.count, cfg.seed)) for t in cfg.tasks}
    weights = [float((cfg.task_weights or {}).get(t, 0.0 if cfg.task_weights else 1.0)) for t in cfg.tasks]
    before = fixed_losses(unet, pipe.scheduler, enc)

    acc = Accelerator(cpu=not torch.cuda.is_available())
    opt = torch.optim.Adam(mtu_parameters(unet), lr=cfg.lr)
    unet.train()
    model, opt = acc.prepare(unet, opt)
    rng = random.Random(cfg.seed + acc.process_index)
    per_proc = max(1, cfg.batch_size // acc.num_processes)
    log: list[dict[str, float]] = []
    bar = tqdm(range(cfg.steps), desc="mtu", disable=not (cfg.progress and acc.is_main_process), dynamic_ncols=True)
    for step in bar:
        gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step * 101 + acc.process_index)
        mix = rng.choices(cfg.tasks, weights=weights, k=len(cfg.tasks))  # the task mix of this step
        opt.zero_grad(set_to_none=True)
        losses = {}
        for task in mix:
            x0, cond, emb = (v if v is None else v.to(acc.device) for v in enc[task].batch(per_proc, gen))
            loss = eps_loss(unet, pipe.scheduler, task, x0, cond, emb, gen, net=model)
            acc.backward(loss)  # the step's loss is the sum over the mix
            losses[task] = float(loss.detach())
        opt.step()
        log.append(losses)
        bar.set_postfix(loss=f"{sum(losses.values()):.3g}")
    acc.wait_for_everyone()
    unet.eval()
    after = fixed_losses(unet, pipe.scheduler, enc)
    result = {"loss_before": before, "loss_after": after, "steps": cfg.steps, "log": log}
    if cfg.out is not None and acc.is_main_process:
        record = {**(info or {}), "config": cfg.model_dump(mode="json", exclude={"out", "overwrite", "progress"}),
                  "loss_before": before, "loss_after": after, "wall_s": round(time.time() - start, 1),
                  "threads": torch.get_num_threads(), "torch": torch.__version__}
        result["out"] = save(pipe, cfg.out, record, cfg.overwrite)
    return result


def save(pipe: Any, out: Path, record: dict, overwrite: bool = False) -> Path:
    """The pipeline and ``training.json`` (how it was trained), written to a temp sibling and renamed into place."""
    out = Path(out).expanduser()
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(tmp, safe_serialization=True)
    (tmp / "training.json").write_text(json.dumps(record, indent=2))
    if out.exists():
        if not overwrite:
            shutil.rmtree(tmp)
            raise ZooError(f"{out} exists: pass overwrite: true to replace it")
        shutil.rmtree(out)
    os.replace(tmp, out)
    return out


CLI_KEYS = {"out_dir": "out", "data": "source"}  # `zoo train` option -> MTUTrainConfig field


def train_spec(spec: Any, config: dict) -> Path:
    """``zoo train mtu-*``: upcycle the spec's base and train it. ``init: pretrained`` specs (mtu-mini) start
    from the base's trained weights (mini-edit's shipped ones; ``--random-teacher``: a random base, a dry
    run); the others from the random build. The spec's ``train`` dict holds the recipe's defaults;
    ``config`` (a config file, then the command line) overrides them."""
    import zoo

    config = {k: v for k, v in (config or {}).items() if v is not None}
    pretrained = bool(config.pop("teacher_pretrained", True)) and spec.config.get("init") == "pretrained"
    for key in ("teacher", "stage", "recipe", "resume", "device"):
        if key in config and key != "device":
            raise ZooError(f"zoo train {spec.id}: --{key} is not an option of MTU's recipe (it trains one model in "
                           "one stage from its base)")
        config.pop(key, None)  # device: accelerate picks it
    config = {**spec.config.get("train", {}), **{CLI_KEYS.get(k, k): v for k, v in config.items()}}
    cfg = parse_config(config)
    if cfg.out is None:
        cfg.out = Path("runs") / spec.id
        parse_config({**config, "out": cfg.out})  # the default folder must not hold a previous run either
    if pretrained:
        opts = {**spec.config.get("options", {}), "tasks": spec.config["tasks"], "experts": cfg.experts}
        pipe = zoo.load(spec.config["base"], techniques={"mtu": opts}, progress=cfg.progress)
    else:
        pipe = zoo.load(spec.id, pretrained=False)
    result = train(pipe, cfg, info={"model_id": spec.id, "base": spec.config["base"], "base_weights": pretrained})
    return result["out"]
