"""FraQAT training: for each bit width of the schedule, fake-quantise the linear layers to
W_b A8 and train by pure knowledge distillation from the frozen full-precision denoiser,
``loss = MSE(stopgrad(M_fp(x)), M_WbA8(x))``. accelerate runs it: one process by default,
several with ``accelerate launch`` / torchrun (each process draws its own batches)."""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import torch

from .config import FraQATConfig
from .data import KDData
from .layers import calibrate_static, quant_layers, quantize_linears, set_bits


@dataclass
class StageLog:
    bits: float
    steps: int
    loss: float


@dataclass
class FraQATResult:
    stages: list[StageLog] = field(default_factory=list)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)


def kd_loss(student: Any, teacher: Any, inputs: dict) -> torch.Tensor:
    with torch.no_grad():
        target = teacher(**inputs)
    return torch.nn.functional.mse_loss(student(**inputs), target)


def train_fraqat(denoiser: torch.nn.Module, call: Any, data: KDData, cfg: FraQATConfig) -> FraQATResult:
    """Quantise ``denoiser`` in place and train it through ``cfg.schedule``.

    ``call(module)`` wraps a denoiser into a module whose ``forward(**inputs)`` returns its
    output tensor (``zoo.components.component_module``).
    """
    from accelerate import Accelerator, DistributedDataParallelKwargs
    from tqdm.auto import tqdm

    teacher = call(copy.deepcopy(denoiser)).eval().requires_grad_(False)
    layers = quantize_linears(denoiser, cfg.schedule[0], cfg.act_bits, cfg.per_channel)
    student = call(denoiser).train()
    # some denoisers hold parameters a given call does not use (optional conditions)
    acc = Accelerator(cpu=not torch.cuda.is_available(),
                      kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])
    opt = torch.optim.Adam([p for p in student.parameters() if p.requires_grad], lr=cfg.lr)
    student, opt = acc.prepare(student, opt)
    teacher.to(acc.device)
    per_proc = max(1, cfg.batch_size // acc.num_processes)
    steps_per_epoch = cfg.steps_per_epoch or math.ceil(len(data) / cfg.batch_size)
    total = steps_per_epoch * sum(cfg.epochs)
    bar = tqdm(total=total, desc="fraqat", disable=not (cfg.progress and acc.is_main_process), dynamic_ncols=True)
    result = FraQATResult()
    step = 0
    for bits, epochs in zip(cfg.schedule, cfg.epochs):
        set_bits(denoiser, bits)
        losses = []
        for _ in range(epochs * steps_per_epoch):
            gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step * 101 + acc.process_index)
            inputs = {k: v.to(acc.device) for k, v in data.batch(per_proc, gen).items()}
            loss = kd_loss(student, teacher, inputs)
            opt.zero_grad(set_to_none=True)
            acc.backward(loss)
            opt.step()
            losses.append(float(loss.detach()))
            step += 1
            bar.update(1)
            bar.set_postfix(bits=f"{bits:g}", loss=f"{losses[-1]:.3g}")
        result.stages.append(StageLog(bits=bits, steps=len(losses), loss=sum(losses[-steps_per_epoch:]) / steps_per_epoch))
    bar.close()
    acc.wait_for_everyone()
    student.eval()
    result.ranges = deploy_ranges(layers, call(denoiser), data, cfg)
    return result


def deploy_ranges(layers: dict, model: Any, data: KDData, cfg: FraQATConfig) -> dict[str, tuple[float, float]]:
    """Static activation ranges (mean +- n_sigma sigma over ``calibration_samples`` KD inputs),
    then frozen weight scales: the model as it will be deployed."""
    gen = torch.Generator().manual_seed(cfg.seed + 7919)
    dev = next(model.parameters()).device

    def run() -> None:
        left = cfg.calibration_samples
        while left > 0:
            n = min(left, 16)
            model(**{k: v.to(dev) for k, v in data.batch(n, gen).items()})
            left -= n

    ranges = calibrate_static(layers, run, cfg.n_sigma) if cfg.act_bits is not None else {}
    for m in quant_layers(model).values():
        m.freeze()
    return ranges
