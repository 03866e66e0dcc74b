"""Losses of TOC-SR's one-step distillation [choice from toc-sr.md, OSEDiff style].

* regression: MSE of the one-step output to the HR image (pixel space);
* distribution matching against the frozen multi-step teacher: score distillation on the student's
  output latent: noise it at a random timestep in ``[t_min, t_max]``, ask the teacher for the noise,
  and pull the latent along ``eps_teacher - eps`` (the gradient of the KL to the teacher's
  distribution with the fake score replaced by the injected noise; VSD without its LoRA score net);
* LPIPS is not used: its weights (and torchvision) are not available here.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F


def score_distillation(z: torch.Tensor, teacher_eps: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                       scheduler: Any, gen: torch.Generator, t_min: int = 20, t_max: int = 980) -> torch.Tensor:
    """A loss whose gradient w.r.t. ``z`` is ``(eps_teacher(z_t, t) - eps)`` per element (averaged)."""
    t = torch.randint(t_min, t_max + 1, (z.shape[0],), generator=gen).to(z.device)
    eps = torch.randn(z.shape, generator=gen).to(z.device, z.dtype)
    with torch.no_grad():
        grad = teacher_eps(scheduler.add_noise(z.detach(), eps, t), t) - eps
        grad = torch.nan_to_num(grad)
    target = (z - grad).detach()
    return 0.5 * F.mse_loss(z, target)


def regression(out: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(out.float(), hr.float())
